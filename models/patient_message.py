from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum


class MessageKind(enum.StrEnum):
    TEXT = "text"
    VOICE = "voice"
    AUDIO = "audio"
    PHOTO = "photo"
    VIDEO = "video"
    STICKER = "sticker"
    DOCUMENT = "document"
    OTHER = "other"


class PatientMessage(Base):
    """Something a patient sent outside a question: never ignored, shown to the site team.

    Text is kept as typed; media only by kind (the file stays in Telegram, nothing is downloaded).
    """

    __tablename__ = "patient_messages"
    __table_args__ = (Index("ix_patient_messages_patient_id_received_at", "patient_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind, 12))
    text: Mapped[str | None] = mapped_column(Text)
    red_flags: Mapped[list[str]] = mapped_column(JSON)  # the lexicon entries the text matched
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime]
