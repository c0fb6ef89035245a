from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum


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
    active: Mapped[bool] = mapped_column(default=True)
    linked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
