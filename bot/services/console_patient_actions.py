"""A coordinator's actions on a patient from the console: re-invite, withdraw, reinstate, correct an answer.

Who may act is decided here: coordinators of the patient's site and admins. Another site's patient is NotFound
(like a missing one, as on the patient page); clinicians and PIs, who read the page, are NotAllowed. The actions
are the services the CLI calls (`reinvites`, `patient_status`, `corrections`), audited there as `staff:ID`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.protocol import StudyProtocol
from bot.services.corrections import correct_answer
from bot.services.errors import DomainError, NotFound
from bot.services.patient_status import WithdrawalKind, reinstate, withdraw
from bot.services.reinvites import reinvite_patient
from bot.services.status import may_see_study_data, sites_of
from models import Patient, Staff, TriageLevel


class OutOfScope(NotFound):
    """Another site's patient, or none: answered like a missing page."""


class NotAllowed(DomainError):
    """This staff member reads the patient's page but does not change the patient (only coordinators and admins)."""


def may_manage_patients(staff: Staff) -> bool:
    return may_see_study_data(staff)


async def managed_patient(session: AsyncSession, *, staff: Staff, patient_id: int) -> Patient:
    """The patient, if this staff member may act on them (OutOfScope outside their site, NotAllowed by role)."""
    patient = await session.get(Patient, patient_id)
    limited = sites_of(staff)
    if patient is None or not staff.active or (limited is not None and patient.site_id != limited):
        raise OutOfScope(f"no patient #{patient_id}")
    if not may_manage_patients(staff):
        raise NotAllowed("only coordinators and admins change a patient")
    return patient


def _actor(staff: Staff) -> str:
    return f"staff:{staff.id}"


async def reinvite(
    session: AsyncSession, *, staff: Staff, patient_id: int, protocol: StudyProtocol, now: datetime
) -> tuple[Patient, str]:
    """A new one-time code (earlier unused ones stop working); returns the patient and the clear code."""
    patient = await managed_patient(session, staff=staff, patient_id=patient_id)
    code = await reinvite_patient(session, patient=patient, protocol=protocol, actor=_actor(staff), now=now)
    return patient, code


async def withdraw_patient(
    session: AsyncSession, *, staff: Staff, patient_id: int, kind: str, note: str, now: datetime
) -> int:
    """Stop contacts or end follow-up (`kind` as in the CLI); returns the contacts cancelled. Commits."""
    patient = await managed_patient(session, staff=staff, patient_id=patient_id)
    if kind not in WithdrawalKind.__members__.values():
        raise DomainError(N_("kind: one of {kinds}"), kinds=", ".join(WithdrawalKind))
    cancelled = await withdraw(
        session, patient=patient, kind=WithdrawalKind(kind), note=note or None, actor=_actor(staff), now=now
    )
    await session.commit()
    return cancelled


async def reinstate_patient(session: AsyncSession, *, staff: Staff, patient_id: int, reason: str, now: datetime) -> int:
    """Back into follow-up; returns the contacts planned again. Commits."""
    patient = await managed_patient(session, staff=staff, patient_id=patient_id)
    return await reinstate(session, patient=patient, reason=reason, actor=_actor(staff), now=now)


async def correct(
    session: AsyncSession,
    *,
    staff: Staff,
    patient_id: int,
    month: str,
    item_id: str,
    value: str,
    reason: str,
    protocol: StudyProtocol,
    now: datetime,
) -> tuple[Any, Any, TriageLevel]:
    """One answer of a submitted monthly check-in, corrected with a reason and triaged again; returns (before,
    after, the level now). Commits."""
    patient = await managed_patient(session, staff=staff, patient_id=patient_id)
    try:
        which = int(month.strip())
    except ValueError:
        raise DomainError(N_("month: a number, 1 for the first monthly check-in")) from None
    if not 1 <= which <= 60:
        raise DomainError(N_("month: a number from 1 to 60"))
    return await correct_answer(
        session,
        patient=patient,
        month=which,
        item_id=item_id.strip(),
        value=value,
        reason=reason,
        actor=_actor(staff),
        protocol=protocol,
        now=now,
    )
