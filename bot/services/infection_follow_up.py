"""Where a patient's follow-up ends once their infections change (one voided, one corrected): at the earliest
remaining infection by onset, or it reopens; a death recorded with a fatal infection stands only while a fatal
infection does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from bot.i18n import N_, gettext_for
from bot.services.audit import audited
from bot.services.follow_up import end_follow_up, plan_cancelled_again
from bot.services.infections import death_infection_id, death_reason, first_infection_reason, tell_of_death
from models import AuditEvent, ContactKind, Infection, Patient, PatientStatus, ScheduledContact
from models.contact import OPEN_STATUSES

FOLLOW_UP_GOES_ON = N_(
    "Your study team corrected a record: your follow-up in this study goes on. I will remind you of your next "
    "monthly check-in as before. If you feel unwell at any time, send /report."
)
DEATH_WITHDRAWN_NOTICE = N_(
    "⚪ {study_id} ({site}): {actor} corrected an infection record, so the death recorded with it ({date}) is "
    "withdrawn. Please check the patient's status on the console."
)


async def follow_the_infections(
    session: AsyncSession, *, patient: Patient, reason: str, actor: str, now: datetime
) -> str | None:
    """After an infection was voided or corrected (and flushed): a death recorded with a fatal infection rests on
    the fatal infections left (the earliest, when its own is void or no longer fatal), and is withdrawn when none
    is left (audited; the site's PI and the study admins told); the patient is then as before the death. An end
    at the first infection moves to the earliest remaining one, or follow-up reopens. Returns what happened to
    the patient's follow-up (None: nothing). The caller commits."""
    said: list[str | None] = []
    if (recorded_with := death_infection_id(patient)) is not None:
        fatal = await _fatal_infection(session, patient, preferring=recorded_with)
        if fatal is None:
            said.append(await _withdraw_death(session, patient=patient, reason=reason, actor=actor, now=now))
        elif patient.end_reason != death_reason(fatal):
            with audited(session, entity=patient, actor=actor, action="patient.death_infection_changed", at=now) as n:
                patient.end_reason = death_reason(fatal)
                n["reason"] = reason
            said.append(
                f"the death now rests on infection #{fatal.id}"
                if fatal.id != recorded_with
                else f"the death's infection now has onset {fatal.onset_date}"
            )
    if patient.status is PatientStatus.INFECTED:
        said.append(await _move_end_of_follow_up(session, patient=patient, reason=reason, actor=actor, now=now))
    return "; ".join(text for text in said if text) or None


async def _fatal_infection(session: AsyncSession, patient: Patient, *, preferring: int) -> Infection | None:
    """The patient's fatal infection that is not void: `preferring` if it still is one, else the earliest."""
    fatal = await session.scalars(
        select(Infection)
        .where(Infection.patient_id == patient.id, Infection.voided_at.is_(None), Infection.ctcae_grade == 5)
        .order_by(Infection.onset_date, Infection.id)
    )
    found = list(fatal)
    return next((infection for infection in found if infection.id == preferring), found[0] if found else None)


async def _ends(session: AsyncSession, patient: Patient) -> list[dict[str, Any]]:
    """Each time the patient's follow-up ended, newest first: their status, end and end reason just before (from
    the audit trail's `patient.end.*` events; they keep only the values that changed, the others are as they are
    now)."""
    events = await session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.entity_type == Patient.__tablename__,
            AuditEvent.entity_id == str(patient.id),
            AuditEvent.action.startswith("patient.end."),
        )
        .order_by(AuditEvent.id.desc())
    )
    ends = []
    for event in events:
        before = event.before or {}
        ended_at = before.get("ended_at", patient.ended_at)
        ends.append(
            {
                "status": PatientStatus(before.get("status", patient.status)),
                "ended_at": datetime.fromisoformat(ended_at) if isinstance(ended_at, str) else ended_at,
                "end_reason": before.get("end_reason", patient.end_reason),
            }
        )
    return ends


async def _withdraw_death(session: AsyncSession, *, patient: Patient, reason: str, actor: str, now: datetime) -> str:
    """The death was recorded with infections none of which is fatal now: withdrawn. A patient whose follow-up had
    ended otherwise (withdrawn, declined, lost, completed) is so again; one followed up until then (or ended at
    an infection) is ended at the infections (`_move_end_of_follow_up` says where, or reopens)."""
    died_on = patient.died_on
    before = next(iter(await _ends(session, patient)), None)
    with audited(session, entity=patient, actor=actor, action="patient.death_withdrawn", at=now) as notes:
        patient.died_on = None
        if before is None or before["status"] in FOLLOWED_UNTIL_AN_INFECTION:  # ended at the infections now
            patient.status, patient.end_reason = PatientStatus.INFECTED, None
        else:  # as they were: ended at an infection, withdrawn, declined, lost or completed
            patient.status, patient.ended_at, patient.end_reason = (
                before["status"],
                before["ended_at"],
                before["end_reason"],
            )
        notes["before_the_death"] = before["status"].value if before else None
        notes["reason"] = reason
    if died_on is not None:
        await tell_of_death(
            session,
            patient=patient,
            notice=DEATH_WITHDRAWN_NOTICE,
            died_on=died_on,
            key=f"death-withdrawn:{patient.id}:{now.isoformat()}",
            actor=actor,
            now=now,
        )
    return f"the death recorded with it ({died_on}) is withdrawn" + (
        "" if patient.status is PatientStatus.INFECTED else f"; the patient is {patient.status.value} again"
    )


# Followed up until the death was recorded: an infection would have ended it (`infections.record_infection`), so
# the patient is ended at the infections when the death is withdrawn.
FOLLOWED_UNTIL_AN_INFECTION = (PatientStatus.ENROLLED, PatientStatus.ACTIVE, PatientStatus.CLINIC_ONLY)


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
    # how they were followed up before the infections and deaths ended it (the newest end from another status)
    before = next((end for end in await _ends(session, patient) if end["status"] in FOLLOWED_UNTIL_AN_INFECTION), None)
    if before is not None and before["status"] is PatientStatus.CLINIC_ONLY:  # no messages, as they asked
        with audited(session, entity=patient, actor=actor, action="patient.follow_up_reopened", at=now) as notes:
            patient.status, patient.ended_at, patient.end_reason = (
                PatientStatus.CLINIC_ONLY,
                before["ended_at"],
                before["end_reason"],
            )
            notes["reason"] = reason
        return "follow-up reopened at clinic visits only (the patient asked for no messages)"
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
