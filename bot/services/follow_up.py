"""Ending follow-up: the one place that cancels a patient's future contacts and pending messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.protocol import StudyProtocol
from bot.services.audit import audited
from models import ContactStatus, OutboxMessage, OutboxStatus, Patient, PatientStatus, ScheduledContact
from models.contact import OPEN_STATUSES

ENDED_STATUSES = (
    PatientStatus.WITHDRAWN,
    PatientStatus.INFECTED,
    PatientStatus.COMPLETED,
    PatientStatus.DECLINED,
    PatientStatus.DIED,
    PatientStatus.LOST,
)
# No message goes out to these patients (a clinic-only patient is still followed up, at clinic visits).
NO_CONTACT_STATUSES = (*ENDED_STATUSES, PatientStatus.CLINIC_ONLY)


async def end_follow_up(
    session: AsyncSession, *, patient: Patient, status: PatientStatus, reason: str, actor: str, now: datetime
) -> int:
    """Close the patient's follow-up and cancel what has not happened yet. Returns the contacts cancelled.

    Contacts whose window had already closed unanswered are recorded as missed, not cancelled.

    The caller commits; it may queue a closing message afterwards (pending messages are cancelled first).
    """
    with audited(session, entity=patient, actor=actor, action=f"patient.end.{status.value}", at=now) as notes:
        patient.status, patient.ended_at, patient.end_reason = status, now, reason
        patient.awaiting, patient.awaiting_since = None, None  # an old prompt's button or answer changes nothing
        notes["contacts_cancelled"] = await _close_contacts(session, patient=patient, now=now)
    return int(notes["contacts_cancelled"])


async def _close_contacts(session: AsyncSession, *, patient: Patient, now: datetime) -> int:
    """Missed for windows already closed, cancelled for the rest; pending messages to the patient cancelled."""
    still_open = (ScheduledContact.patient_id == patient.id, ScheduledContact.status.in_(OPEN_STATUSES))
    await session.execute(
        update(ScheduledContact)
        .where(*still_open, ScheduledContact.window_end <= now)
        .values(status=ContactStatus.MISSED, next_action_at=None)
    )
    result = await session.execute(
        update(ScheduledContact).where(*still_open).values(status=ContactStatus.CANCELLED, next_action_at=None)
    )
    cancelled = int(cast(CursorResult[Any], result).rowcount)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.patient_id == patient.id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED)
    )
    return cancelled


async def plan_cancelled_again(session: AsyncSession, *, patient: Patient, now: datetime) -> int:
    """Follow-up goes on after all: the cancelled contacts whose window is still open are planned again (past
    ones stay as they were). Returns how many. The caller audits and commits."""
    result = await session.execute(
        update(ScheduledContact)
        .where(
            ScheduledContact.patient_id == patient.id,
            ScheduledContact.status == ContactStatus.CANCELLED,
            ScheduledContact.window_end > now,
        )
        .values(status=ContactStatus.PLANNED, next_action_at=ScheduledContact.due_at)
    )
    return int(cast(CursorResult[Any], result).rowcount)


async def complete_if_final(
    session: AsyncSession,
    *,
    patient: Patient,
    contact: ScheduledContact,
    protocol: StudyProtocol,
    now: datetime,
) -> None:
    """The last monthly check-in, answered or missed, ends follow-up as completed."""
    if contact.month == protocol.follow_up_end.after_months and patient.status not in ENDED_STATUSES:
        await end_follow_up(
            session,
            patient=patient,
            status=PatientStatus.COMPLETED,
            reason=f"month {contact.month} reached",
            actor="system",
            now=now,
        )
