from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum


class InfectionSite(enum.StrEnum):
    UPPER_RESPIRATORY = "upper_respiratory"
    PNEUMONIA = "pneumonia"
    URINARY = "urinary"
    SKIN_SOFT_TISSUE = "skin_soft_tissue"
    HERPES_ZOSTER = "herpes_zoster"
    GASTROINTESTINAL = "gastrointestinal"
    BLOODSTREAM = "bloodstream"
    CNS = "cns"
    OTHER = "other"


class Pathogen(enum.StrEnum):
    BACTERIAL = "bacterial"
    VIRAL = "viral"
    FUNGAL = "fungal"
    PROTOZOAL = "protozoal"
    UNKNOWN = "unknown"


class Treatment(enum.StrEnum):
    NONE = "none"
    ORAL_ANTIMICROBIAL = "oral_antimicrobial"
    IV_ANTIMICROBIAL = "iv_antimicrobial"
    ANTIVIRAL = "antiviral"
    ANTIFUNGAL = "antifungal"
    PROCEDURE = "procedure"


class Outcome(enum.StrEnum):
    ONGOING = "ongoing"
    RESOLVED = "resolved"
    RESOLVED_WITH_SEQUELAE = "resolved_with_sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


class InfectionSource(enum.StrEnum):
    BOT = "bot"  # confirmed from an escalation
    CLINIC = "clinic"  # found at a clinic visit, recorded from the CLI


class Infection(Base):
    """A confirmed infection. The patient's first one ends follow-up."""

    __tablename__ = "infections"
    __table_args__ = (CheckConstraint("ctcae_grade BETWEEN 1 AND 5", name="ctcae_grade_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    onset_date: Mapped[date]
    site_type: Mapped[InfectionSite] = mapped_column(str_enum(InfectionSite))
    pathogen: Mapped[Pathogen] = mapped_column(str_enum(Pathogen, 12))
    organism: Mapped[str | None] = mapped_column(String(200))
    ctcae_grade: Mapped[int]
    ctcae_version: Mapped[str] = mapped_column(String(8), default="5.0", server_default="5.0")  # the grading used
    treatments: Mapped[list[str]] = mapped_column(JSON)  # Treatment codes, one or more ("none" alone)
    hospitalized: Mapped[bool]
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome))
    source: Mapped[InfectionSource] = mapped_column(str_enum(InfectionSource, 8))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]
    notes: Mapped[str | None] = mapped_column(Text)
    corrected: Mapped[bool] = mapped_column(default=False, server_default=false())  # amended, with a reason
    voided_at: Mapped[datetime | None]  # entered in error: kept, but no longer counted
    void_reason: Mapped[str | None] = mapped_column(Text)
