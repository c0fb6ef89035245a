"""The contacts worker: due rows of the plan become messages in the outbox, or close as missed/unconfirmed.

Rows are claimed by `next_action_at <= now` (an index), so a pass costs what is due, not the size of the
study. A row due while the bot was down is still sent if its window is open; dedupe keys make it once only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import Button, Dose, Rows, StartCheckin, rows_payload
from bot.delivery.outbox import enqueue
from bot.i18n import N_, gettext_for, long_date
from bot.plan import checkin_nudge_times
from bot.protocol import StudyProtocol
from bot.services.consent import ask_again, consent_pending
from bot.services.doses import DoseAnswer
from bot.services.escalation import ESCALATING, UNRESOLVED
from bot.services.follow_up import complete_if_final
from models import ContactKind, ContactStatus, Escalation, Lane, Patient, PatientStatus, ScheduledContact

PAUSE_RECHECK = timedelta(minutes=30)
CHECKIN_OPEN = N_("📋 It is time for your monthly check-in (month {month} of {months}). It takes about two minutes.")
CHECKIN_NUDGE = N_("📋 A gentle reminder: your monthly check-in is still waiting. You can answer until {date}.")
DOSE_REMINDER = N_(
    "💉 Today is your IL-2 injection day: cycle {cycle}, injection {number} of {total}, dose {amount}. "
    "Have you had today's injection?"
)
DOSE_AGAIN = N_("💉 Reminder: did you take today's IL-2 dose?")


def checkin_button(language: str) -> Rows:
    _ = gettext_for(language)
    return [[Button("▶ " + _("Start"), StartCheckin())]]


def dose_buttons(contact_id: int, language: str) -> Rows:
    _ = gettext_for(language)
    return [
        [
            Button("✅ " + _("Taken"), Dose(contact_id, DoseAnswer.TAKEN)),
            Button("✖ " + _("Skipped"), Dose(contact_id, DoseAnswer.SKIPPED)),
        ],
        [Button("⏰ " + _("Remind me later"), Dose(contact_id, DoseAnswer.LATER))],
    ]


async def process_due_contacts(
    session: AsyncSession, *, protocol: StudyProtocol, now: datetime, limit: int = 500
) -> int:
    """Handle one batch of due contacts and commit. Returns how many rows were handled."""
    rows = (
        await session.execute(
            select(ScheduledContact, Patient)
            .join(Patient, ScheduledContact.patient_id == Patient.id)
            .where(ScheduledContact.next_action_at <= now)
            .order_by(ScheduledContact.next_action_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=ScheduledContact)
        )
    ).all()
    for contact, patient in rows:
        await _handle(session, contact=contact, patient=patient, protocol=protocol, now=now)
    await session.commit()
    return len(rows)


async def _handle(
    session: AsyncSession,
    *,
    contact: ScheduledContact,
    patient: Patient,
    protocol: StudyProtocol,
    now: datetime,
) -> None:
    if contact.status not in (ContactStatus.PLANNED, ContactStatus.OPEN):
        contact.next_action_at = None
        return
    paused = contact.kind is ContactKind.DOSE and await _doses_paused(session, patient=patient, protocol=protocol)
    if now >= contact.window_end:
        contact.next_action_at = None
        if contact.status is ContactStatus.OPEN and contact.kind is ContactKind.DOSE:
            contact.status = ContactStatus.UNCONFIRMED
        elif paused:
            contact.status = ContactStatus.PAUSED
        else:
            contact.status = ContactStatus.MISSED
        await complete_if_final(session, patient=patient, contact=contact, protocol=protocol, now=now)
        return
    reachable = patient.status is PatientStatus.ACTIVE and patient.telegram_chat_id is not None
    if not reachable or patient.unreachable or patient.onboarded_at is None:
        contact.next_action_at = contact.window_end  # look again when it closes (or when onboarding ends)
        return
    if consent_pending(patient, protocol):  # the consent screen goes out instead; nothing is asked until agreed
        await ask_again(session, patient=patient, protocol=protocol, now=now)
        contact.next_action_at = contact.window_end
        return
    if paused and contact.status is ContactStatus.PLANNED:
        contact.next_action_at = min(now + PAUSE_RECHECK, contact.window_end)  # resumes once the alert is resolved
        return
    if contact.kind is ContactKind.CHECKIN:
        await _checkin(session, contact=contact, patient=patient, protocol=protocol, now=now)
    else:
        await _dose(session, contact=contact, patient=patient, protocol=protocol, now=now)


async def _doses_paused(session: AsyncSession, *, patient: Patient, protocol: StudyProtocol) -> bool:
    """While an urgent or infection alert is open for the patient, no dose reminders (protocol option)."""
    if not protocol.safety.pause_doses_during_alert:
        return False
    open_alert = await session.scalar(
        select(Escalation.id).where(
            Escalation.patient_id == patient.id,
            Escalation.status.in_(UNRESOLVED),
            Escalation.level.in_(ESCALATING),
        )
    )
    return open_alert is not None


async def _send(
    session: AsyncSession,
    *,
    contact: ScheduledContact,
    patient: Patient,
    text: str,
    markup: Rows,
    now: datetime,
) -> None:
    assert patient.telegram_chat_id is not None
    await enqueue(
        session,
        dedupe_key=f"contact:{contact.id}:{contact.reminders_sent}",
        chat_id=patient.telegram_chat_id,
        payload={"text": text, "buttons": rows_payload(markup)},
        now=now,
        patient_id=patient.id,
        lane=Lane.BULK,
    )
    contact.reminders_sent += 1


async def _checkin(
    session: AsyncSession,
    *,
    contact: ScheduledContact,
    patient: Patient,
    protocol: StudyProtocol,
    now: datetime,
) -> None:
    language = patient.language
    _ = gettext_for(language)
    zone = ZoneInfo(patient.timezone)
    if contact.status is ContactStatus.PLANNED:
        text = _(CHECKIN_OPEN).format(month=contact.month, months=protocol.checkin_plan.months)
        contact.status = ContactStatus.OPEN
    else:
        closes = contact.window_end.astimezone(zone).date()
        text = _(CHECKIN_NUDGE).format(date=long_date(closes, language))
    await _send(session, contact=contact, patient=patient, text=text, markup=checkin_button(language), now=now)
    later = [
        moment for moment in checkin_nudge_times(contact.due_at, protocol.checkin_plan.nudge_days, zone) if moment > now
    ]
    contact.next_action_at = min([*later, contact.window_end])


async def _dose(
    session: AsyncSession,
    *,
    contact: ScheduledContact,
    patient: Patient,
    protocol: StudyProtocol,
    now: datetime,
) -> None:
    language = patient.language
    _ = gettext_for(language)
    regimen = protocol.dose_regimen
    if contact.status is ContactStatus.PLANNED:
        text = _(DOSE_REMINDER).format(
            amount=regimen.amount.for_language(language),
            cycle=contact.cycle,
            number=contact.dose_number,
            total=len(regimen.dose_days),
        )
        contact.status = ContactStatus.OPEN
    else:
        text = _(DOSE_AGAIN)  # the patient asked to be reminded later
    await _send(
        session,
        contact=contact,
        patient=patient,
        text=text,
        markup=dose_buttons(contact.id, language),
        now=now,
    )
    contact.next_action_at = contact.window_end
