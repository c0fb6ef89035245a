"""The safety net: what happens the moment a patient tells us something that may mean danger.

Whatever path the report took (a check-in answer, a late or unfinished check-in, /report, a message typed or
spoken outside a question, a patient whose follow-up has ended), `raise_alarm` does the same two things in the
caller's transaction:

1. urgent: the emergency advice (the emergency number and the site's 24-hour phone) is written to the outbox in
   the URGENT lane, once per report, ahead of anything else for that chat;
2. urgent or infection: the escalation is opened or updated and its first step queued at once
   (bot.services.escalation.escalate).

The caller commits: the advice, the alert and the answers land together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from bot.i18n import Gettext, gettext_for
from bot.protocol import StudyProtocol
from bot.services.escalation import Trigger, escalate
from models import Escalation, Lane, Patient, Site, TriageLevel


def emergency_line(_: Gettext, *, site: Site, protocol: StudyProtocol) -> str:
    """The two numbers every patient should have at hand: the emergency number and the site's 24-hour phone."""
    emergency = protocol.safety.emergency_number
    if site.phone:
        return _("In an emergency call {emergency}. Your study team's 24-hour phone: {phone}.").format(
            emergency=emergency, phone=site.phone
        )
    return _("In an emergency call {emergency}.").format(emergency=emergency)


def urgent_advice_text(_: Gettext, *, site: Site, protocol: StudyProtocol, in_hospital: bool = False) -> str:
    """The emergency advice; a patient in hospital now is told to tell the ward's doctors instead."""
    if in_hospital:
        first = _(
            "What you told us may need urgent care. Please tell the doctors or nurses on your ward now. "
            "Do not wait for a reply here."
        )
    else:
        first = _(
            "What you told us may need urgent care. Please call {emergency} or go to the nearest emergency "
            "department now. Do not wait for a reply here."
        ).format(emergency=protocol.safety.emergency_number)
    return "⚠️ " + "\n".join(
        [
            first,
            emergency_line(_, site=site, protocol=protocol),
            _("Your study team has been told."),
        ]
    )


async def _tell_patient(
    session: AsyncSession,
    *,
    patient: Patient,
    kind: str,
    source: str,
    text: Callable[[Gettext, Site], str],
    now: datetime,
) -> bool:
    """Queue one urgent-lane message of this kind about this report to the patient, once. False if there is no
    chat to send it to."""
    if patient.telegram_chat_id is None:
        return False
    site = await session.get_one(Site, patient.site_id)
    await enqueue(
        session,
        dedupe_key=f"{kind}:{patient.id}:{source}",
        chat_id=patient.telegram_chat_id,
        patient_id=patient.id,
        lane=Lane.URGENT,
        now=now,
        payload={"text": text(gettext_for(patient.language), site)},
    )
    return True


async def send_urgent_advice(
    session: AsyncSession,
    *,
    patient: Patient,
    protocol: StudyProtocol,
    source: str,
    now: datetime,
    in_hospital: bool = False,
) -> bool:
    """Queue the emergency advice for this report (once). False if the patient has no chat to send it to."""
    return await _tell_patient(
        session,
        patient=patient,
        kind="advice",
        source=source,
        text=lambda _, site: urgent_advice_text(_, site=site, protocol=protocol, in_hospital=in_hospital),
        now=now,
    )


async def send_thanks_after_alarm(
    session: AsyncSession, *, patient: Patient, protocol: StudyProtocol, source: str, now: datetime
) -> None:
    """The thank-you after a report that raised an alarm: queued behind the advice, so it never comes first."""

    def thanks(_: Gettext, site: Site) -> str:
        return "\n".join(
            [
                _("Thank you. Your study team will look at your answers soon. If you feel worse, do not wait."),
                emergency_line(_, site=site, protocol=protocol),
            ]
        )

    await _tell_patient(session, patient=patient, kind="thanks", source=source, text=thanks, now=now)


async def raise_alarm(
    session: AsyncSession, *, patient: Patient, trigger: Trigger, protocol: StudyProtocol, now: datetime
) -> Escalation | None:
    """Advice first (urgent), then the escalation (urgent or infection). Lower levels do nothing here."""
    if trigger.level is TriageLevel.URGENT:
        await send_urgent_advice(
            session,
            patient=patient,
            protocol=protocol,
            source=trigger.source,
            now=now,
            in_hospital=trigger.in_hospital,
        )
    return await escalate(session, patient=patient, trigger=trigger, protocol=protocol, now=now)
