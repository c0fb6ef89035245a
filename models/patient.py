from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum


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


class Language(enum.StrEnum):
    ZH_CN = "zh_CN"
    EN = "en"


class Patient(Base):
    """A pseudonymous participant: no name, no phone number, ever."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[str] = mapped_column(String(32), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    group: Mapped[Group] = mapped_column(str_enum(Group))
    status: Mapped[PatientStatus] = mapped_column(str_enum(PatientStatus), index=True)
    baseline_date: Mapped[date]
    il2_start: Mapped[date | None]
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[Language] = mapped_column(str_enum(Language, 8))
    reminder_time: Mapped[time]
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    consented_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(String(16))  # the protocol's consent version agreed to
    consent_language: Mapped[str | None] = mapped_column(String(8))  # the language the text was shown in
    consent_text_sha256: Mapped[str | None] = mapped_column(String(64))  # a hash of the exact text shown
    unreachable: Mapped[bool] = mapped_column(default=False)
    awaiting: Mapped[str | None] = mapped_column(String(24))  # typed input awaited, e.g. "reminder_time"
    awaiting_since: Mapped[datetime | None]  # when that prompt was shown
    onboarded_at: Mapped[datetime | None]  # reminder time settled: check-ins and doses may go out from now on
    ended_at: Mapped[datetime | None]
    died_on: Mapped[date | None]  # the date of death (status died)
    end_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
