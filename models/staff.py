from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import LANGUAGE_CODE_LENGTH, Base, str_enum


class StaffRole(enum.StrEnum):
    CLINICIAN = "clinician"
    PI = "pi"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class Staff(Base):
    """A clinician, PI, coordinator or admin. Admins act on all sites; the others on their own."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    role: Mapped[StaffRole] = mapped_column(str_enum(StaffRole))
    name: Mapped[str] = mapped_column(String(200))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    language: Mapped[str] = mapped_column(String(LANGUAGE_CODE_LENGTH))  # one of bot.i18n.languages()
    active: Mapped[bool] = mapped_column(default=True)
    awaiting: Mapped[str | None] = mapped_column(String(40))  # typed input awaited, e.g. "dismiss:12"
    awaiting_since: Mapped[datetime | None]  # when that prompt was shown (it lapses)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the infection form being filled in
    linked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
