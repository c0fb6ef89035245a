from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class FailedUpdate(Base):
    """A Telegram update whose handling raised: counted per delivery, given up after a few.

    Only the update's type and id and the error's type are kept, never its content.
    """

    __tablename__ = "failed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_type: Mapped[str] = mapped_column(String(32))
    failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(120))
    first_failed_at: Mapped[datetime]
    last_failed_at: Mapped[datetime]
    gave_up_at: Mapped[datetime | None] = mapped_column(index=True)
