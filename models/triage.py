from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum


class TriageLevel(enum.StrEnum):
    NONE = "none"
    REVIEW = "review"
    INFECTION = "infection"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return list(TriageLevel).index(self)


class TriageDecision(Base):
    """The triage of one submitted response, with machine-readable reasons."""

    __tablename__ = "triage_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_responses.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    level: Mapped[TriageLevel] = mapped_column(str_enum(TriageLevel, 12))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    decided_at: Mapped[datetime]
