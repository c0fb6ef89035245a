from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a dispatcher
    SENT = "sent"
    DEAD = "dead"  # permanent error (400, 403): kept with its error, never retried
    CANCELLED = "cancelled"


class Lane(enum.IntEnum):
    """Which messages go first when many are due: lower lanes are sent before higher ones (still within
    Telegram's limits). Urgent advice and escalation alerts must never wait behind a reminder backlog."""

    URGENT = 0  # emergency advice to a patient, urgent and infection alerts to staff
    NORMAL = 1  # replies and notices decided by a service
    BULK = 2  # reminders, nudges and digests


class OutboxMessage(Base):
    """One outbound Telegram call, written in the transaction that decided it. Sent by the dispatcher."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_status_not_before", "status", "not_before"),
        Index("ix_outbox_messages_status_lane_not_before", "status", "lane", "not_before"),
        Index("ix_outbox_messages_chat_id_status", "chat_id", "status"),  # a chat's messages go in order
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, 12))
    lane: Mapped[int] = mapped_column(SmallInteger, default=Lane.NORMAL, server_default=str(int(Lane.NORMAL)))
    not_before: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
