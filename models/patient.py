from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, and_, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import LANGUAGE_CODE_LENGTH, Base, str_enum
from models.questionnaire import QuestionnaireResponse, ResponseStatus


class Group(enum.StrEnum):
    IL2 = "il2"
    CONTROL = "control"


class PatientStatus(enum.StrEnum):
    ENROLLED = "enrolled"  # plan written, Telegram not linked or consent not given yet
    ACTIVE = "active"  # linked and consented: contacts go out
    DECLINED = "declined"  # did not consent in Telegram
    WITHDRAWN = "withdrawn"
    INFECTED = "infected"  # follow-up ended at the first confirmed infection
    COMPLETED = "completed"  # month 24 reached
    CLINIC_ONLY = "clinic_only"  # asked for no more messages: data still collected at clinic visits
    DIED = "died"  # follow-up ended at death (`died_on`)
    LOST = "lost"  # lost to follow-up: censored at the last contact


class Patient(Base):
    """A pseudonymous participant: no name, no phone number, ever."""

    __tablename__ = "patients"
    __table_args__ = (  # the onboarding job's look-up: consented, no reminder time settled yet
        Index(
            "ix_patients_awaiting_since_not_onboarded",
            "awaiting_since",
            sqlite_where=text("onboarded_at IS NULL"),
            postgresql_where=text("onboarded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[str] = mapped_column(String(32), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    group: Mapped[Group] = mapped_column(str_enum(Group))
    status: Mapped[PatientStatus] = mapped_column(str_enum(PatientStatus), index=True)
    baseline_date: Mapped[date]
    il2_start: Mapped[date | None]
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(LANGUAGE_CODE_LENGTH))  # one of bot.i18n.languages()
    reminder_time: Mapped[time]
    # regular preventive medicines (TMP-SMX, entecavir, ...): recorded at enrollment and when they change
    preventive_medicines: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    consented_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(String(16))  # the protocol's consent version agreed to
    # the language the consent text was shown in
    consent_language: Mapped[str | None] = mapped_column(String(LANGUAGE_CODE_LENGTH))
    consent_text_sha256: Mapped[str | None] = mapped_column(String(64))  # a hash of the exact text shown
    unreachable: Mapped[bool] = mapped_column(default=False)
    awaiting: Mapped[str | None] = mapped_column(String(24))  # typed input awaited, e.g. "reminder_time"
    awaiting_since: Mapped[datetime | None]  # when that prompt was shown
    onboarded_at: Mapped[datetime | None]  # reminder time settled: check-ins and doses may go out from now on
    ended_at: Mapped[datetime | None]
    died_on: Mapped[date | None]  # the date of death (status died)
    end_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    # The questionnaire in progress, read in the same query as the patient where a tap may need it (never loaded
    # on access): read-only, and current as of that query.
    questionnaire_in_progress: Mapped[QuestionnaireResponse | None] = relationship(
        primaryjoin=lambda: and_(
            QuestionnaireResponse.patient_id == Patient.id,
            QuestionnaireResponse.status == ResponseStatus.IN_PROGRESS,
        ),
        viewonly=True,
        lazy="raise",
    )
