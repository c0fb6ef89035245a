"""Linking a Telegram chat to an enrolled patient or a staff member, consent, and the patient's settings."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import get_for_update
from bot.protocol import StudyProtocol
from bot.services.audit import audited, record_event
from bot.services.follow_up import ENDED_STATUSES, end_follow_up
from bot.services.invites import find_code
from bot.services.reachability import send_open_contacts_now
from bot.services.schedule import change_reminder_time
from models import (
    InviteCode,
    InvitePurpose,
    Language,
    Patient,
    PatientStatus,
    Site,
    Staff,
)

FIRST_REMINDER_TIME = "first_reminder_time"  # asked once, right after consent; then the welcome follows
REMINDER_TIME = "reminder_time"  # asked again through /time


class CodeProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    CHAT_TAKEN = "chat_taken"  # this Telegram account already belongs to another participant
    ENDED = "ended"  # the patient's follow-up is over


@dataclass(frozen=True)
class LinkedPatient:
    patient: Patient
    site: Site
    returning: bool  # the same chat used its code again


@dataclass(frozen=True)
class LinkedStaff:
    staff: Staff
    site: Site


async def patient_for_chat(session: AsyncSession, *, chat_id: int) -> Patient | None:
    return await session.scalar(select(Patient).where(Patient.telegram_chat_id == chat_id))


async def staff_for_user(session: AsyncSession, *, user_id: int) -> Staff | None:
    return await session.scalar(select(Staff).where(Staff.telegram_user_id == user_id, Staff.active.is_(True)))


async def redeem(
    session: AsyncSession, *, code: str, chat_id: int, now: datetime, language: str = "zh_CN"
) -> LinkedPatient | LinkedStaff | CodeProblem:
    """Use a one-time code from a deep link. Nothing is stored for a code that does not work. The invite row is
    locked while it is checked and used, so of two accounts redeeming one code at once exactly one wins."""
    found = await find_code(session, code=code)
    if found is None:
        return CodeProblem.UNKNOWN
    invite = await get_for_update(session, InviteCode, found.id)
    assert invite is not None
    if invite.purpose is InvitePurpose.PATIENT and invite.patient_id is not None:
        patient = await session.get(Patient, invite.patient_id)
        assert patient is not None
        if patient.telegram_chat_id == chat_id:
            return LinkedPatient(patient, await _site(session, patient.site_id), returning=True)
        if invite.used_at is not None:
            return CodeProblem.USED
        if invite.expires_at <= now:
            return CodeProblem.EXPIRED
        if patient.status in ENDED_STATUSES:
            return CodeProblem.ENDED
        if await patient_for_chat(session, chat_id=chat_id) is not None or await staff_for_user(
            session, user_id=chat_id
        ):
            return CodeProblem.CHAT_TAKEN
        with audited(
            session,
            entity=patient,
            actor=f"patient:{patient.study_id}",
            action="patient.link",
            at=now,
            hide=("telegram_chat_id",),
        ) as notes:
            patient.telegram_chat_id = chat_id
            invite.used_at = now
            notes["telegram_linked"] = True
        await session.commit()
        return LinkedPatient(patient, await _site(session, patient.site_id), returning=False)
    staff = await session.get(Staff, invite.staff_id)
    assert staff is not None
    if not staff.active:
        return CodeProblem.EXPIRED  # a deactivated member's invite is void
    if staff.telegram_user_id == chat_id:
        return LinkedStaff(staff, await _site(session, staff.site_id))
    if invite.used_at is not None:
        return CodeProblem.USED
    if invite.expires_at <= now:
        return CodeProblem.EXPIRED
    if await staff_for_user(session, user_id=chat_id) is not None or await patient_for_chat(session, chat_id=chat_id):
        return CodeProblem.CHAT_TAKEN
    staff.telegram_user_id, staff.linked_at, invite.used_at, staff.language = chat_id, now, now, language
    record_event(
        session,
        actor=f"staff:{staff.id}",
        action="staff.link",
        entity=staff,
        at=now,
        after={"telegram_linked": True},
    )
    await session.commit()
    return LinkedStaff(staff, await _site(session, staff.site_id))


async def _site(session: AsyncSession, site_id: int) -> Site:
    site = await session.get(Site, site_id)
    assert site is not None
    return site


async def give_consent(session: AsyncSession, *, patient: Patient, agree: bool, now: datetime) -> bool:
    """Record the answer to the consent question. Returns False if it was already answered (a stale tap)."""
    if patient.status is not PatientStatus.ENROLLED:
        return False
    actor = f"patient:{patient.study_id}"
    if not agree:
        await end_follow_up(
            session,
            patient=patient,
            status=PatientStatus.DECLINED,
            reason="did not agree in Telegram",
            actor=actor,
            now=now,
        )
        await session.commit()
        return True
    with audited(session, entity=patient, actor=actor, action="patient.consent", at=now):
        patient.status, patient.consented_at, patient.awaiting = (
            PatientStatus.ACTIVE,
            now,
            FIRST_REMINDER_TIME,
        )
    await send_open_contacts_now(session, patient=patient, now=now)  # those that fell due before consent
    await session.commit()
    return True


async def set_reminder_time(
    session: AsyncSession, *, patient: Patient, reminder_time: time, protocol: StudyProtocol, now: datetime
) -> None:
    patient.awaiting = None
    await change_reminder_time(
        session,
        patient=patient,
        reminder_time=reminder_time,
        protocol=protocol,
        actor=f"patient:{patient.study_id}",
        now=now,
    )


async def await_input(session: AsyncSession, *, patient: Patient, what: str | None) -> None:
    patient.awaiting = what
    await session.commit()


async def set_language(session: AsyncSession, *, patient: Patient, language: Language, now: datetime) -> None:
    with audited(session, entity=patient, actor=f"patient:{patient.study_id}", action="patient.language", at=now):
        patient.language = language
    await session.commit()
