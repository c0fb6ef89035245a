"""IL-2 doses as the patient sees them: what is coming, and what they confirmed."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.protocol import StudyProtocol
from bot.services.audit import record_event
from models import ContactKind, ContactStatus, Patient, ScheduledContact

ANSWERED = (ContactStatus.TAKEN, ContactStatus.SKIPPED, ContactStatus.UNCONFIRMED, ContactStatus.MISSED)


async def upcoming_doses(
    session: AsyncSession, *, patient: Patient, now: datetime, limit: int
) -> Sequence[ScheduledContact]:
    """Doses still ahead, including today's if its day has not ended."""
    return (
        await session.scalars(
            select(ScheduledContact)
            .where(
                ScheduledContact.patient_id == patient.id,
                ScheduledContact.kind == ContactKind.DOSE,
                ScheduledContact.status.in_((ContactStatus.PLANNED, ContactStatus.OPEN)),
                ScheduledContact.window_end > now,
            )
            .order_by(ScheduledContact.due_at)
            .limit(limit)
        )
    ).all()


async def recent_doses(session: AsyncSession, *, patient: Patient, limit: int) -> Sequence[ScheduledContact]:
    return (
        await session.scalars(
            select(ScheduledContact)
            .where(
                ScheduledContact.patient_id == patient.id,
                ScheduledContact.kind == ContactKind.DOSE,
                ScheduledContact.status.in_(ANSWERED),
            )
            .order_by(ScheduledContact.due_at.desc())
            .limit(limit)
        )
    ).all()


class DoseAnswer(enum.StrEnum):
    TAKEN = "taken"
    SKIPPED = "skipped"
    LATER = "later"


class DoseOutcome(enum.StrEnum):
    RECORDED = "recorded"
    SNOOZED = "snoozed"
    NO_MORE_SNOOZES = "no_more_snoozes"
    TOO_LATE = "too_late"  # the day is over: the dose stays unconfirmed
    STALE = "stale"  # already answered, or not this patient's


async def answer_dose(
    session: AsyncSession,
    *,
    patient: Patient,
    contact_id: int,
    answer: DoseAnswer,
    protocol: StudyProtocol,
    now: datetime,
) -> DoseOutcome:
    """Record the patient's answer to a dose reminder."""
    contact = await session.get(ScheduledContact, contact_id)
    if contact is None or contact.patient_id != patient.id or contact.kind is not ContactKind.DOSE:
        return DoseOutcome.STALE
    if contact.status is not ContactStatus.OPEN:
        return DoseOutcome.STALE
    if now >= contact.window_end:
        return DoseOutcome.TOO_LATE
    regimen = protocol.dose_regimen
    if answer is DoseAnswer.LATER:
        if contact.snoozes >= regimen.max_snoozes:
            return DoseOutcome.NO_MORE_SNOOZES
        contact.snoozes += 1
        contact.next_action_at = min(now + timedelta(minutes=regimen.snooze_minutes), contact.window_end)
        await session.commit()
        return DoseOutcome.SNOOZED
    contact.status = ContactStatus.TAKEN if answer is DoseAnswer.TAKEN else ContactStatus.SKIPPED
    contact.answered_at, contact.next_action_at = now, None
    record_event(
        session,
        actor=f"patient:{patient.study_id}",
        action=f"dose.{answer.value}",
        entity=contact,
        at=now,
        after={"cycle": contact.cycle, "dose": contact.dose_number},
    )
    await session.commit()
    return DoseOutcome.RECORDED
