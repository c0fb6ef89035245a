"""Where a patient's follow-up ends once their infections change (one voided, one corrected): at the earliest
remaining infection by onset, or it reopens; a death recorded with a fatal infection stands only while a fatal
infection does."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from bot.i18n import N_, gettext_for
from bot.roles import DEATH_NOTICE_ROLES
from bot.services.audit import audited
from bot.services.follow_up import end_follow_up, plan_cancelled_again
from bot.services.infections import died_of_recorded_infection, first_infection_reason, staff_name
from bot.services.notices import tell_staff
from models import ContactKind, Infection, Patient, PatientStatus, ScheduledContact, Site
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
    """After an infection was voided or corrected (and flushed): a death recorded with a fatal infection is
    withdrawn when no fatal infection is left (audited; the site's PI and the study admins told); an end at the
    first infection moves to the earliest remaining one, or follow-up reopens. Returns what happened to the
    patient's follow-up (None: nothing). The caller commits."""
    withdrawn = None
    if died_of_recorded_infection(patient) and not await _fatal_infection_left(session, patient):
        withdrawn = await _withdraw_death(session, patient=patient, reason=reason, actor=actor, now=now)
    if patient.status is not PatientStatus.INFECTED:
        return withdrawn
    moved = await _move_end_of_follow_up(session, patient=patient, reason=reason, actor=actor, now=now)
    return "; ".join(said for said in (withdrawn, moved) if said) or None


async def _fatal_infection_left(session: AsyncSession, patient: Patient) -> bool:
    fatal = await session.scalar(
        select(func.count()).where(
            Infection.patient_id == patient.id, Infection.voided_at.is_(None), Infection.ctcae_grade == 5
        )
    )
    return bool(fatal)


async def _withdraw_death(session: AsyncSession, *, patient: Patient, reason: str, actor: str, now: datetime) -> str:
    """The death was recorded with an infection that no longer says so: withdrawn. Follow-up stays ended at the
    infections (`_move_end_of_follow_up` then says where)."""
    died_on = patient.died_on
    with audited(session, entity=patient, actor=actor, action="patient.death_withdrawn", at=now) as notes:
        patient.died_on = None
        patient.status, patient.end_reason = PatientStatus.INFECTED, None
        notes["reason"] = reason
    site = await session.get_one(Site, patient.site_id)
    who = await staff_name(session, actor)
    await tell_staff(
        session,
        site_id=patient.site_id,
        roles=DEATH_NOTICE_ROLES,
        key=f"death-withdrawn:{patient.id}:{now.isoformat()}",
        now=now,
        text=lambda _: _(DEATH_WITHDRAWN_NOTICE).format(
            study_id=patient.study_id, site=site.code, actor=who, date=died_on.isoformat() if died_on else "?"
        ),
    )
    return f"the death recorded with it ({died_on}) is withdrawn"


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
