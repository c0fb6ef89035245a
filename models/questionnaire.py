from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum


class FormKind(enum.StrEnum):
    CHECKIN = "checkin"
    REPORT = "report"


class ResponseStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    ABANDONED = "abandoned"


class QuestionnaireResponse(Base):
    """One filling of a form. Progress lives here, so a restart resumes where the patient was."""

    __tablename__ = "questionnaire_responses"
    __table_args__ = (
        Index(
            "uq_questionnaire_responses_patient_id_in_progress",
            "patient_id",
            unique=True,
            sqlite_where=text("status = 'in_progress'"),
            postgresql_where=text("status = 'in_progress'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("scheduled_contacts.id"), index=True)
    form: Mapped[FormKind] = mapped_column(str_enum(FormKind, 8))
    status: Mapped[ResponseStatus] = mapped_column(str_enum(ResponseStatus, 12))
    current_item: Mapped[str | None] = mapped_column(String(40))  # None: at the summary
    editing: Mapped[bool] = mapped_column(default=False)  # one item is being changed from the summary
    message_id: Mapped[int | None] = mapped_column(BigInteger)  # the message showing the current item
    started_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    late: Mapped[bool] = mapped_column(default=False, server_default=false())  # submitted after its window closed
    partial: Mapped[bool] = mapped_column(default=False, server_default=false())  # submitted unfinished (red flags)

    # The answers so far, read with the patient where a tap needs them (never loaded on access): read-only, and
    # current as of that query (bot.services.checkin_answers reads them once, then asks the database).
    answers: Mapped[list[Answer]] = relationship(viewonly=True, lazy="raise")


class Answer(Base):
    """One item's answer, as its option code(s), number or text. Edited in place until submission."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("response_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_responses.id"))
    item_id: Mapped[str] = mapped_column(String(40))
    value: Mapped[Any] = mapped_column(JSON)
    answered_at: Mapped[datetime]
    corrected: Mapped[bool] = mapped_column(default=False, server_default=false())  # changed later, with a reason
    typed: Mapped[str | None] = mapped_column(Text)  # what the patient typed ("101.3F"), next to the value (38.5)
