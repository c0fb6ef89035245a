from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum


class ContactKind(enum.StrEnum):
    CHECKIN = "checkin"
    DOSE = "dose"


class ContactStatus(enum.StrEnum):
    PLANNED = "planned"  # not yet sent
    OPEN = "open"  # sent, waiting for the patient
    DONE = "done"  # check-in submitted
    TAKEN = "taken"
    SKIPPED = "skipped"
    UNCONFIRMED = "unconfirmed"  # dose reminder unanswered at the end of the patient's day
    MISSED = "missed"  # window closed without an answer (or before the patient could be reached)
    CANCELLED = "cancelled"  # follow-up ended first
    PAUSED = "paused"  # dose day passed without a reminder: an urgent or infection alert was open (protocol)


OPEN_STATUSES = (ContactStatus.PLANNED, ContactStatus.OPEN)
OPEN_CHECKIN = "status = 'open' AND kind = 'checkin'"  # a partial index's predicate; queries repeat it literally


class ScheduledContact(Base):
    """One planned check-in or dose reminder. The whole plan is written at enrollment.

    `next_action_at` is when a worker must look at the row again (send, nudge, close); it is NULL once the
    row needs nothing more, so a tick costs in proportion to what is due, not to the size of the plan.
    """

    __tablename__ = "scheduled_contacts"
    __table_args__ = (
        Index("ix_scheduled_contacts_patient_id_kind_due_at", "patient_id", "kind", "due_at"),
        # The check-ins sent and still unanswered (the console's "overdue only"): a few rows, not the whole plan.
        Index(
            "ix_scheduled_contacts_open_checkins",
            "due_at",
            sqlite_where=text(OPEN_CHECKIN),
            postgresql_where=text(OPEN_CHECKIN),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[ContactKind] = mapped_column(str_enum(ContactKind, 8))
    month: Mapped[int | None]
    cycle: Mapped[int | None]
    dose_number: Mapped[int | None]
    planned_date: Mapped[date]  # the patient's local calendar day
    due_at: Mapped[datetime]
    window_end: Mapped[datetime]
    status: Mapped[ContactStatus] = mapped_column(str_enum(ContactStatus, 12))
    next_action_at: Mapped[datetime | None] = mapped_column(index=True)
    reminders_sent: Mapped[int] = mapped_column(default=0)
    snoozes: Mapped[int] = mapped_column(default=0)
    answered_at: Mapped[datetime | None]
    dedupe_key: Mapped[str] = mapped_column(String(80), unique=True)
