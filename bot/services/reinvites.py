"""New one-time links for a patient or a staff member whose link expired or who changed phone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.protocol import StudyProtocol
from bot.services.audit import record_event
from bot.services.errors import DomainError
from bot.services.follow_up import NO_CONTACT_STATUSES
from bot.services.invites import issue_code, void_open_codes
from bot.services.sites import get_staff
from models import InvitePurpose, Patient, Staff


async def reinvite_patient(
    session: AsyncSession, *, patient: Patient, protocol: StudyProtocol, actor: str, now: datetime
) -> str:
    """A new one-time code for the patient (earlier unused ones stop working); returns the clear code.

    Redeemed from another Telegram account, it moves the patient there (`onboarding.redeem`)."""
    if patient.status in NO_CONTACT_STATUSES:
        raise DomainError(
            N_("{study_id}: follow-up has ended ({status})"), study_id=patient.study_id, status=patient.status.value
        )
    await void_open_codes(session, now=now, patient_id=patient.id)
    code = issue_code(
        session,
        purpose=InvitePurpose.PATIENT,
        now=now,
        valid_days=protocol.enrollment.invite_valid_days,
        patient_id=patient.id,
    )
    record_event(
        session,
        actor=actor,
        action="patient.reinvite",
        entity=patient,
        at=now,
        after={"linked_before": patient.telegram_chat_id is not None},
    )
    await session.commit()
    return code


async def reinvite_staff(
    session: AsyncSession, *, staff_id: int, protocol: StudyProtocol, actor: str, now: datetime
) -> tuple[Staff, str]:
    """A new one-time invite for an active staff member (earlier unused ones stop working)."""
    staff = await get_staff(session, staff_id=staff_id)
    if not staff.active:
        raise DomainError(f"staff #{staff.id} is deactivated: reactivate them first")
    await void_open_codes(session, now=now, staff_id=staff.id)
    code = issue_code(
        session,
        purpose=InvitePurpose.STAFF,
        now=now,
        valid_days=protocol.enrollment.staff_invite_valid_days,
        staff_id=staff.id,
    )
    record_event(
        session,
        actor=actor,
        action="staff.reinvite",
        entity=staff,
        at=now,
        after={"linked_before": staff.telegram_user_id is not None},
    )
    await session.commit()
    return staff, code
