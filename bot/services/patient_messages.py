"""What a patient sends outside a question: never ignored.

`receive_message` records it (text as typed, media by kind only: nothing is downloaded) so the site team sees
it in /alerts and the daily digest. Text with red flags (bot.services.red_flags) raises the alarm at once in
the same transaction: the urgent advice to the patient, then an urgent escalation "from a patient message".

A patient whose follow-up ended (or who never consented) is still a person who may be in danger: red-flag
text raises the alarm the same way, "I feel unwell now" (/report) gets the urgent advice, and the site team is
told. What a patient who never consented sends is stored only when it carries red flags (the escalation needs
it); they get no study questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_, Gettext
from bot.protocol import StudyProtocol
from bot.roles import SITE_TEAM
from bot.services.audit import record_event
from bot.services.escalation import Trigger
from bot.services.notices import tell_coordinators
from bot.services.red_flags import red_flags
from bot.services.safety import raise_alarm, send_urgent_advice
from models import MessageKind, Patient, PatientMessage, PatientStatus, Site, Staff, StaffRole, TriageLevel

KIND_NAMES = {
    MessageKind.TEXT: N_("text"),
    MessageKind.VOICE: N_("voice message"),
    MessageKind.AUDIO: N_("audio"),
    MessageKind.PHOTO: N_("photo"),
    MessageKind.VIDEO: N_("video"),
    MessageKind.STICKER: N_("sticker"),
    MessageKind.DOCUMENT: N_("file"),
    MessageKind.OTHER: N_("other message"),
}
SHORT_TEXT = 80  # characters of a message shown in the digest and /alerts
RECENT_DAYS = 7
RECENT_LIMIT = 10


@dataclass(frozen=True)
class Received:
    message: PatientMessage | None  # None: not stored (someone who never consented, nothing alarming)
    alarm: bool  # red flags: the urgent advice and the escalation were queued


def has_red_flags(text: str, protocol: StudyProtocol) -> bool:
    return bool(red_flags(text, protocol.safety.red_flags, protocol.triage.urgent_temperature_c))


def shortened(text: str | None, limit: int = SHORT_TEXT) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(message: PatientMessage, _: Gettext) -> str:
    """ "“the text”" for text, the kind ("voice message") for anything else, in the staff member's language."""
    if message.kind is MessageKind.TEXT:
        return f"“{shortened(message.text)}”"
    return _(KIND_NAMES[message.kind])


async def receive_message(
    session: AsyncSession,
    *,
    patient: Patient,
    kind: MessageKind,
    text: str | None,
    telegram_message_id: int | None,
    protocol: StudyProtocol,
    now: datetime,
    unwell: bool = False,
) -> Received:
    """Record the message and act on it (see the module docstring); commits.

    `unwell`: a patient whose follow-up ended asked for help (/report): they get the urgent advice."""
    flags = red_flags(text, protocol.safety.red_flags, protocol.triage.urgent_temperature_c) if text else []
    message = None
    if flags or patient.consented_at is not None:
        message = PatientMessage(
            patient_id=patient.id,
            site_id=patient.site_id,
            kind=kind,
            text=text if kind is MessageKind.TEXT else None,
            red_flags=flags,
            telegram_message_id=telegram_message_id,
            received_at=now,
        )
        session.add(message)
        await session.flush()
        record_event(
            session,
            actor=f"patient:{patient.study_id}",
            action="patient_message.receive",
            entity=message,
            at=now,
            after={"kind": kind.value, "red_flags": flags},
        )
    if flags:
        assert message is not None
        trigger = Trigger(TriageLevel.URGENT, ("patient_message",), patient_message_id=message.id)
        await raise_alarm(session, patient=patient, trigger=trigger, protocol=protocol, now=now)
    elif unwell:
        source = f"unwell{telegram_message_id}" if telegram_message_id is not None else f"unwell{now.isoformat()}"
        await send_urgent_advice(session, patient=patient, protocol=protocol, source=source, now=now)
    if patient.status is not PatientStatus.ACTIVE and (message is not None or unwell):
        await _tell_site_team(session, patient=patient, message=message, unwell=unwell, now=now)
    await session.commit()
    return Received(message, alarm=bool(flags))


STATUS_NAMES = {
    PatientStatus.ENROLLED: N_("has not agreed yet"),
    PatientStatus.DECLINED: N_("did not agree to take part"),
    PatientStatus.WITHDRAWN: N_("follow-up ended: withdrawn"),
    PatientStatus.INFECTED: N_("follow-up ended: infection"),
    PatientStatus.COMPLETED: N_("follow-up ended: completed"),
    PatientStatus.CLINIC_ONLY: N_("asked for no messages: followed up at clinic"),
    PatientStatus.DIED: N_("follow-up ended: died"),
    PatientStatus.LOST: N_("follow-up ended: lost to follow-up"),
}


async def _tell_site_team(
    session: AsyncSession, *, patient: Patient, message: PatientMessage | None, unwell: bool, now: datetime
) -> None:
    """The site's clinicians, PI and coordinators learn that someone no longer followed up asked for help."""

    def notice(_: Gettext) -> str:
        status = _(STATUS_NAMES.get(patient.status, patient.status.value))
        lines = [_("📨 {study_id} ({status}) wrote to the bot.").format(study_id=patient.study_id, status=status)]
        if unwell:
            lines.append(_("They asked for help (“I feel unwell now”) and were given the emergency numbers."))
        if message is not None and not unwell:
            lines.append(_("Message: {message}").format(message=describe(message, _)))
        lines.append(_("Please contact them."))
        return "\n".join(lines)

    key = f"ended-patient:{patient.id}:" + (f"message{message.id}" if message is not None else now.isoformat())
    await tell_coordinators(session, site_id=patient.site_id, key=key, text=notice, now=now, roles=SITE_TEAM)


async def recent_for(
    session: AsyncSession, *, staff: Staff, now: datetime, limit: int = RECENT_LIMIT
) -> list[tuple[PatientMessage, Patient, Site]]:
    """The newest messages from patients of the staff member's site (admins: every site), newest first."""
    query = (
        select(PatientMessage, Patient, Site)
        .join(Patient, PatientMessage.patient_id == Patient.id)
        .join(Site, PatientMessage.site_id == Site.id)
        .where(PatientMessage.received_at >= now - timedelta(days=RECENT_DAYS))
        .order_by(PatientMessage.received_at.desc(), PatientMessage.id.desc())
        .limit(limit)
    )
    if staff.role is not StaffRole.ADMIN:
        query = query.where(PatientMessage.site_id == staff.site_id)
    return [(message, patient, site) for message, patient, site in await session.execute(query)]


async def received_between(
    session: AsyncSession, *, site_id: int, since: datetime, until: datetime
) -> list[tuple[PatientMessage, str]]:
    """A site's patient messages in [since, until), oldest first, with the patient's study ID (the digest)."""
    rows = await session.execute(
        select(PatientMessage, Patient.study_id)
        .join(Patient, PatientMessage.patient_id == Patient.id)
        .where(
            PatientMessage.site_id == site_id,
            PatientMessage.received_at >= since,
            PatientMessage.received_at < until,
        )
        .order_by(PatientMessage.received_at, PatientMessage.id)
    )
    return [(message, study_id) for message, study_id in rows]
