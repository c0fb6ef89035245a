from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum


class InvitePurpose(enum.StrEnum):
    PATIENT = "patient"
    STAFF = "staff"


class InviteCode(Base):
    """A one-time deep-link code. Only its SHA-256 is stored; it expires and is used once."""

    __tablename__ = "invite_codes"
    __table_args__ = (CheckConstraint("(patient_id IS NULL) <> (staff_id IS NULL)", name="exactly_one_holder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[InvitePurpose] = mapped_column(str_enum(InvitePurpose, 8))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
