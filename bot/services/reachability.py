"""Whether a patient can be reached in Telegram: lost when they block the bot (Telegram says so, or a send is
refused), back when they unblock it. While unreachable nothing is sent to them; once back, what is still open
goes out on the scheduler's next pass."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import audited
from bot.services.notices import tell_coordinators
from models import ContactStatus, Patient, ScheduledContact


async def mark_unreachable(session: AsyncSession, *, patient: Patient, why: str, now: datetime) -> None:
    """Flag the patient and tell the site's coordinators (once per loss). The caller commits."""
    if patient.unreachable:
        return
    with audited(session, entity=patient, actor="system", action="patient.unreachable", at=now) as notes:
        patient.unreachable = True
        notes["why"] = why
    await tell_coordinators(
        session,
        site_id=patient.site_id,
        key=f"unreachable:{patient.id}:{now.isoformat()}",
        now=now,
        text=lambda _: _("{study_id} cannot be reached in Telegram (blocked the bot or left Telegram).").format(
            study_id=patient.study_id
        ),
    )


async def mark_reachable(session: AsyncSession, *, patient: Patient, now: datetime) -> None:
    """The patient unblocked the bot: clear the flag and tell the coordinators. The caller commits."""
    if not patient.unreachable:
        return
    with audited(session, entity=patient, actor=f"patient:{patient.study_id}", action="patient.reachable", at=now):
        patient.unreachable = False
    await send_open_contacts_now(session, patient=patient, now=now)
    await tell_coordinators(
        session,
        site_id=patient.site_id,
        key=f"reachable:{patient.id}:{now.isoformat()}",
        now=now,
        text=lambda _: _("{study_id} can be reached in Telegram again.").format(study_id=patient.study_id),
    )


async def send_open_contacts_now(session: AsyncSession, *, patient: Patient, now: datetime) -> None:
    """Check-ins and dose reminders that are due and whose window is still open go out on the next pass."""
    await session.execute(
        update(ScheduledContact)
        .where(
            ScheduledContact.patient_id == patient.id,
            ScheduledContact.status.in_((ContactStatus.PLANNED, ContactStatus.OPEN)),
            ScheduledContact.due_at <= now,
            ScheduledContact.window_end > now,
        )
        .values(next_action_at=now)
    )


async def chat_blocked(session: AsyncSession, *, patient: Patient, blocked: bool, now: datetime) -> None:
    """Telegram says the patient blocked the bot (or unblocked it): reachability follows. Commits."""
    if blocked:
        await mark_unreachable(session, patient=patient, why="blocked the bot", now=now)
    else:
        await mark_reachable(session, patient=patient, now=now)
    await session.commit()
