"""Voiding an infection entered in error. It is kept, flagged void, and no longer counted; when it was the end
of the patient's follow-up, the end moves to the next first infection by onset, or follow-up reopens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from bot.i18n import N_, gettext_for
from bot.services.audit import audited
from bot.services.corrections import get_infection
from bot.services.errors import DomainError
from bot.services.follow_up import end_follow_up, plan_cancelled_again
from bot.services.infections import first_infection_reason
from bot.services.staff_changes import reason_or_error
from models import ContactKind, Infection, Patient, PatientStatus, ScheduledContact
from models.contact import OPEN_STATUSES

FOLLOW_UP_GOES_ON = N_(
    "Your study team corrected a record: your follow-up in this study goes on. I will remind you of your next "
    "monthly check-in as before. If you feel unwell at any time, send /report."
)


async def void_infection(
    session: AsyncSession, *, infection_id: int, reason: str, actor: str, now: datetime
) -> tuple[Infection, str | None]:
    """An infection entered in error: kept with the reason, no longer counted in exports' flags or the report.
    Returns the infection and what happened to the patient's follow-up (None: nothing). Commits."""
    reason = reason_or_error(reason)
    infection, patient = await get_infection(session, infection_id=infection_id)
    if infection.voided_at is not None:
        raise DomainError(f"infection #{infection.id} is void already")
    with audited(session, entity=infection, actor=actor, action="infection.void", at=now) as notes:
        infection.voided_at, infection.void_reason = now, reason
        notes["reason"] = reason
    await session.flush()
    outcome = None
    if patient.status is PatientStatus.INFECTED:
        outcome = await _move_end_of_follow_up(session, patient=patient, reason=reason, actor=actor, now=now)
    await session.commit()
    return infection, outcome


async def _move_end_of_follow_up(
    session: AsyncSession, *, patient: Patient, reason: str, actor: str, now: datetime
) -> str | None:
    """Follow-up ended at an infection: it now ends at the earliest remaining one by onset, or, with none left,
    reopens from today (contacts still ahead planned again, past ones stay; month 24 already behind: completed)."""
    earliest = await session.scalar(
        select(func.min(Infection.onset_date)).where(Infection.patient_id == patient.id, Infection.voided_at.is_(None))
    )
    if earliest is not None:
        moved_reason = first_infection_reason(earliest)
        if patient.end_reason == moved_reason:
            return None
        with audited(session, entity=patient, actor=actor, action="patient.first_infection_moved", at=now) as notes:
            patient.end_reason = moved_reason
            notes["reason"] = reason
        return f"follow-up now ends at the infection with onset {earliest}"
    with audited(session, entity=patient, actor=actor, action="patient.follow_up_reopened", at=now) as notes:
        patient.status = PatientStatus.ACTIVE if patient.consented_at is not None else PatientStatus.ENROLLED
        patient.ended_at, patient.end_reason = None, None
        notes["reason"] = reason
        notes["contacts_planned_again"] = await plan_cancelled_again(session, patient=patient, now=now)
    checkins_ahead = await session.scalar(
        select(func.count()).where(
            ScheduledContact.patient_id == patient.id,
            ScheduledContact.kind == ContactKind.CHECKIN,
            ScheduledContact.status.in_(OPEN_STATUSES),
        )
    )
    if not checkins_ahead:
        await end_follow_up(
            session, patient=patient, status=PatientStatus.COMPLETED, reason="month 24 reached", actor=actor, now=now
        )
        return "follow-up completed (no monthly check-in is left)"
    if patient.status is PatientStatus.ACTIVE and patient.telegram_chat_id is not None:
        _ = gettext_for(patient.language)
        await enqueue(
            session,
            dedupe_key=f"reopened:{patient.id}:{now.isoformat()}",
            chat_id=patient.telegram_chat_id,
            patient_id=patient.id,
            now=now,
            payload={"text": _(FOLLOW_UP_GOES_ON)},
        )
    return f"follow-up reopened; {notes['contacts_planned_again']} contacts planned again"
