"""A patient's status in the study, changed by a coordinator or the patient: withdrawal (two kinds),
reinstatement, death, lost to follow-up. Each change is audited with its reason."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.services.audit import audited
from bot.services.errors import DomainError
from bot.services.follow_up import ENDED_STATUSES, NO_CONTACT_STATUSES, end_follow_up, plan_cancelled_again
from bot.services.notices import tell_coordinators
from bot.services.staff_changes import reason_or_error
from bot.services.text import visible_text
from models import Infection, Patient, PatientStatus


class WithdrawalKind(enum.StrEnum):
    STOP_CONTACT = "stop-contact"  # no more messages; data still collected at clinic visits
    WITHDRAW_CONSENT = "withdraw-consent"  # no more data collected at all


WITHDRAWAL_STATUS = {
    WithdrawalKind.STOP_CONTACT: PatientStatus.CLINIC_ONLY,
    WithdrawalKind.WITHDRAW_CONSENT: PatientStatus.WITHDRAWN,
}
REINSTATABLE = (PatientStatus.CLINIC_ONLY, PatientStatus.WITHDRAWN, PatientStatus.LOST)


async def withdraw(
    session: AsyncSession,
    *,
    patient: Patient,
    kind: WithdrawalKind,
    note: str | None,
    actor: str,
    now: datetime,
) -> int:
    """Stop contacts (stop-contact: still followed up at clinic) or end follow-up (withdraw-consent); every
    future contact is cancelled. Returns how many. The caller commits (it may tell the site team first)."""
    if patient.status in NO_CONTACT_STATUSES and not (
        patient.status is PatientStatus.CLINIC_ONLY and kind is WithdrawalKind.WITHDRAW_CONSENT
    ):
        raise DomainError(
            N_("{study_id}: follow-up has already ended ({status})"),
            study_id=patient.study_id,
            status=patient.status.value,
        )
    reason = kind.value + (f": {kept}" if note and (kept := visible_text(note)) else "")
    return await end_follow_up(
        session, patient=patient, status=WITHDRAWAL_STATUS[kind], reason=reason, actor=actor, now=now
    )


STOP_NOTICES = {
    WithdrawalKind.STOP_CONTACT: N_(
        "{study_id} asked for no more messages (/stop): follow-up continues at clinic visits only."
    ),
    WithdrawalKind.WITHDRAW_CONSENT: N_(
        "{study_id} withdrew consent through the bot (/stop): no more data may be collected."
    ),
}


async def withdraw_telling_coordinators(
    session: AsyncSession,
    *,
    patient: Patient,
    kind: WithdrawalKind,
    note: str,
    key: str,
    notice: str,
    now: datetime,
    notice_fields: Mapping[str, object] | None = None,
) -> None:
    """A withdrawal the patient made in Telegram: the site's coordinators are told first (`notice`, a msgid
    formatted with the study id and `notice_fields`, in each one's language, queued once under `key`), then the
    withdrawal is recorded with `note`, the patient as its actor. The caller commits."""
    study_id = patient.study_id
    await tell_coordinators(
        session,
        site_id=patient.site_id,
        key=key,
        now=now,
        text=lambda staff_: staff_(notice).format(study_id=study_id, **(notice_fields or {})),
    )
    await withdraw(session, patient=patient, kind=kind, note=note, actor=f"patient:{study_id}", now=now)


async def stop_in_telegram(session: AsyncSession, *, patient: Patient, kind: WithdrawalKind, now: datetime) -> None:
    """The patient's own /stop: the site's coordinators are told, and the withdrawal is recorded. Commits."""
    await withdraw_telling_coordinators(
        session,
        patient=patient,
        kind=kind,
        note="asked in Telegram (/stop)",
        key=f"withdrawn:{patient.id}",
        notice=STOP_NOTICES[kind],
        now=now,
    )
    await session.commit()


async def reinstate(session: AsyncSession, *, patient: Patient, reason: str, actor: str, now: datetime) -> int:
    """Back into follow-up after a withdrawal or a loss: contacts whose window is still open are planned again
    (past ones stay as they were). Returns how many. Commits."""
    reason = reason_or_error(reason)
    if patient.status not in REINSTATABLE:
        raise DomainError(
            N_("{study_id}: cannot be reinstated from {status}"), study_id=patient.study_id, status=patient.status.value
        )
    if (infected := await _last_infection(session, patient)) is not None:  # follow-up ends at the first one
        raise DomainError(
            N_("{study_id}: cannot be reinstated, infection #{number} (onset {onset}) is recorded"),
            study_id=patient.study_id,
            number=infected.id,
            onset=infected.onset_date,
        )
    with audited(session, entity=patient, actor=actor, action="patient.reinstate", at=now) as notes:
        patient.status = PatientStatus.ACTIVE if patient.consented_at is not None else PatientStatus.ENROLLED
        patient.ended_at, patient.end_reason = None, None
        notes["reason"] = reason
        notes["contacts_planned_again"] = await plan_cancelled_again(session, patient=patient, now=now)
    await session.commit()
    return int(notes["contacts_planned_again"])


async def record_death(
    session: AsyncSession,
    *,
    patient: Patient,
    died_on: date,
    cause: str | None,
    actor: str,
    now: datetime,
    end_reason: str | None = None,
    reason: str | None = None,
) -> int:
    """Death ends follow-up on its date (which is neither in the future nor before the baseline); returns the
    contacts cancelled. The end reason is "died: <cause>", or `end_reason` (a death recorded with a fatal
    infection says which, see `infections.death_reason`); `reason`, why it is recorded now (a correction's), is
    kept in the audit trail. The caller commits."""
    if patient.status is PatientStatus.DIED:
        raise DomainError(f"{patient.study_id}: a death is recorded already ({patient.died_on})")
    await _check_day_of_death(session, patient, died_on, now)
    kept = visible_text(cause) if cause else ""
    with audited(session, entity=patient, actor=actor, action="patient.died", at=now) as notes:
        patient.died_on = died_on
        if kept:
            notes["cause"] = kept
        if reason:
            notes["reason"] = reason
    return await end_follow_up(
        session,
        patient=patient,
        status=PatientStatus.DIED,
        reason=end_reason or (f"died: {kept}" if kept else "died"),
        actor=actor,
        now=now,
    )


async def _check_day_of_death(session: AsyncSession, patient: Patient, died_on: date, now: datetime) -> None:
    """Not in the future (the patient's today, as for an onset), not before the baseline, not before the onset of
    an infection that is recorded."""
    if died_on > now.astimezone(ZoneInfo(patient.timezone)).date():
        raise DomainError(f"--date: {died_on} is in the future")
    if died_on < patient.baseline_date:
        raise DomainError(f"--date: {died_on} is before the baseline ({patient.baseline_date})")
    latest = await _last_infection(session, patient)
    if latest is not None and died_on < latest.onset_date:
        raise DomainError(
            N_("date of death: {died_on} is before the onset of infection #{number} ({onset})"),
            died_on=died_on,
            number=latest.id,
            onset=latest.onset_date,
        )


async def _last_infection(session: AsyncSession, patient: Patient) -> Infection | None:
    """The patient's infection (not void) with the latest onset."""
    return await session.scalar(
        select(Infection)
        .where(Infection.patient_id == patient.id, Infection.voided_at.is_(None))
        .order_by(Infection.onset_date.desc(), Infection.id.desc())
        .limit(1)
    )


async def correct_death_date(
    session: AsyncSession, *, patient: Patient, died_on: date, reason: str, actor: str, now: datetime
) -> date:
    """A recorded date of death corrected (audited with the reason): not in the future, not before the baseline
    nor before an infection's onset. Returns the date it replaces. Commits."""
    reason = reason_or_error(reason)
    if patient.status is not PatientStatus.DIED or patient.died_on is None:
        raise DomainError(f"{patient.study_id}: no death is recorded (`followup patients died` records one)")
    if died_on == patient.died_on:
        raise DomainError(f"--date: the date of death is {died_on} already")
    await _check_day_of_death(session, patient, died_on, now)
    replaced = patient.died_on
    with audited(session, entity=patient, actor=actor, action="patient.death_date_corrected", at=now) as notes:
        patient.died_on = died_on
        notes["reason"] = reason
    await session.commit()
    return replaced


async def mark_lost(session: AsyncSession, *, patient: Patient, reason: str, actor: str, now: datetime) -> int:
    """Lost to follow-up: contacts cancelled; the report censors them at their last contact. Commits."""
    reason = reason_or_error(reason)
    if patient.status in ENDED_STATUSES:
        raise DomainError(
            N_("{study_id}: follow-up has already ended ({status})"),
            study_id=patient.study_id,
            status=patient.status.value,
        )
    cancelled = await end_follow_up(
        session, patient=patient, status=PatientStatus.LOST, reason=reason, actor=actor, now=now
    )
    await session.commit()
    return cancelled
