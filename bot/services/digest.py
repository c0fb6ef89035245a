"""The site's daily digest at the protocol's hour (site time): review-level reports, missed check-ins,
patients who cannot be reached and what patients wrote to the bot. Sent once a day per staff member (dedupe
key), only when there is news."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from bot.forms import labelled
from bot.i18n import Gettext, gettext_for
from bot.plan import local_instant
from bot.protocol import StudyProtocol
from bot.roles import SITE_TEAM
from bot.services.alerts import reasons_line
from bot.services.escalation import recipients_of_site
from bot.services.patient_messages import describe, received_between
from bot.services.sites import linked_clinicians
from models import (
    ContactKind,
    ContactStatus,
    Lane,
    OutboxMessage,
    Patient,
    PatientMessage,
    PatientStatus,
    ScheduledContact,
    Site,
    TriageDecision,
    TriageLevel,
)


async def _already_sent(session: AsyncSession, key: str) -> bool:
    """A range on the unique dedupe-key index (a LIKE prefix would scan the whole outbox on SQLite)."""
    found = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key >= key, OutboxMessage.dedupe_key < key + "~").limit(1)
    )
    return found is not None


async def send_digests(session: AsyncSession, *, protocol: StudyProtocol, now: datetime) -> int:
    """Queue today's digest for every site whose digest hour has passed; commit. Returns digests queued."""
    queued = 0
    clinicians = await linked_clinicians(session)
    for site in (await session.scalars(select(Site))).all():
        zone = ZoneInfo(site.timezone)
        day = now.astimezone(zone).date()
        until = local_instant(day, protocol.escalation.digest_time, zone)
        key = f"digest:{site.id}:{day.isoformat()}"
        if now < until or await _already_sent(session, key):
            continue
        since = until - timedelta(days=1)
        reviews = (
            await session.execute(
                select(Patient.study_id, TriageDecision.reasons)
                .join(Patient, TriageDecision.patient_id == Patient.id)
                .where(
                    Patient.site_id == site.id,
                    TriageDecision.level == TriageLevel.REVIEW,
                    TriageDecision.decided_at >= since,
                    TriageDecision.decided_at < until,
                )
                .order_by(TriageDecision.decided_at)
            )
        ).all()
        missed = (
            await session.scalars(
                select(Patient.study_id)
                .join(ScheduledContact, ScheduledContact.patient_id == Patient.id)
                .where(
                    Patient.site_id == site.id,
                    ScheduledContact.kind == ContactKind.CHECKIN,
                    ScheduledContact.status == ContactStatus.MISSED,
                    ScheduledContact.window_end >= since,
                    ScheduledContact.window_end < until,
                )
                .order_by(Patient.study_id)
            )
        ).all()
        unreachable = (
            await session.scalars(
                select(Patient.study_id)
                .where(
                    Patient.site_id == site.id,
                    Patient.unreachable.is_(True),
                    Patient.status == PatientStatus.ACTIVE,
                )
                .order_by(Patient.study_id)
            )
        ).all()
        messages = await received_between(session, site_id=site.id, since=since, until=until)
        no_responder = site.id not in clinicians
        if not (reviews or missed or unreachable or messages or no_responder):
            continue
        for member in await recipients_of_site(session, site_id=site.id, roles=SITE_TEAM):
            assert member.telegram_user_id is not None
            _ = gettext_for(member.language)
            lines = [_("📰 Daily digest for {site}, {day}").format(site=site.code, day=day.isoformat())]
            if no_responder:
                lines.append(
                    "⚠️ "
                    + _(
                        "No clinician of this site is linked in Telegram: alerts go first to the PI and "
                        "coordinators. Please link one (followup staff add)."
                    )
                )
            if reviews:
                lines.append(_("To review (no alert was raised):"))
                lines += [
                    "• " + labelled(study_id, reasons_line(list(reasons), protocol, _), _)
                    for study_id, reasons in reviews
                ]
            if missed:
                lines.append(_("Missed monthly check-ins: {patients}").format(patients=", ".join(missed)))
            if unreachable:
                lines.append(_("Cannot be reached in Telegram: {patients}").format(patients=", ".join(unreachable)))
            lines += message_lines(messages, _)
            await enqueue(
                session,
                dedupe_key=f"{key}:staff{member.id}",
                chat_id=member.telegram_user_id,
                now=now,
                staff_id=member.id,
                payload={"text": "\n".join(lines)},
                lane=Lane.BULK,
            )
        queued += 1
    await session.commit()
    return queued


def message_lines(messages: list[tuple[PatientMessage, str]], _: Gettext) -> list[str]:
    """ "Patient messages:" and one line per message (study ID, kind, the text shortened); none: no lines."""
    if not messages:
        return []
    return [_("Patient messages:")] + [
        "• " + _("patient message from {study_id}: {message}").format(study_id=study_id, message=describe(message, _))
        for message, study_id in messages
    ]
