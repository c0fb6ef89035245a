"""Linking a Telegram chat to an enrolled patient or a staff member, consent, and the patient's settings."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TypeVarTuple

from sqlalchemy import Select, bindparam, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from bot.db import get_for_update
from bot.delivery.outbox import enqueue
from bot.i18n import DEFAULT_LANGUAGE, N_, clock, gettext_for
from bot.protocol import StudyProtocol
from bot.services.audit import audited, record_event
from bot.services.errors import language_or_error
from bot.services.follow_up import NO_CONTACT_STATUSES, end_follow_up
from bot.services.invites import find_code
from bot.services.reachability import send_open_contacts_now
from bot.services.schedule import change_reminder_time
from bot.update_scope import HANDLED_BEFORE
from models import (
    InviteCode,
    InvitePurpose,
    OutboxMessage,
    OutboxStatus,
    Patient,
    PatientStatus,
    QuestionnaireResponse,
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


_Columns = TypeVarTuple("_Columns")  # what a statement selects


def _with_questionnaire_in_progress(statement: Select[*_Columns], *, answers: bool = False) -> Select[*_Columns]:
    """`statement`, on Patient, with the patient's questionnaire in progress (and, with `answers`, its answers)
    outer joined and read with the patient into the session: a patient without one comes all the same."""
    statement = statement.outerjoin(Patient.questionnaire_in_progress)
    in_progress = contains_eager(Patient.questionnaire_in_progress)
    if not answers:
        return statement.options(in_progress)
    return statement.outerjoin(QuestionnaireResponse.answers).options(
        in_progress.contains_eager(QuestionnaireResponse.answers)
    )


_CHAT_PATIENT = _with_questionnaire_in_progress(select(Patient)).where(Patient.telegram_chat_id == bindparam("chat_id"))
# Rows whether or not the chat is a patient's: whether the update was handled before, and the patient with the
# questionnaire in progress and its answers (a row for each).
_UPDATE_AND_PATIENT = _with_questionnaire_in_progress(
    select(HANDLED_BEFORE, Patient)
    .select_from(select(literal(1)).subquery("one"))
    .outerjoin(Patient, Patient.telegram_chat_id == bindparam("chat_id")),
    answers=True,
)


async def patient_for_chat(session: AsyncSession, *, chat_id: int) -> Patient | None:
    """The chat's patient. Their questionnaire in progress, if any, comes in the same query into the session, so
    a tap on it reads nothing more (`checkins.choose` finds it there)."""
    return await session.scalar(_CHAT_PATIENT, {"chat_id": chat_id})


async def update_and_patient(session: AsyncSession, *, update_id: int, chat_id: int) -> tuple[bool, Patient | None]:
    """An update's first query: whether it was handled before (`bot.update_scope.HANDLED_BEFORE`), and
    `patient_for_chat` with the answers so far of the questionnaire in progress, in one statement."""
    handled_before, patient = (
        (await session.execute(_UPDATE_AND_PATIENT, {"update_id": update_id, "chat_id": chat_id})).unique().one()
    )
    return bool(handled_before), patient


async def staff_for_user(session: AsyncSession, *, user_id: int) -> Staff | None:
    return await session.scalar(select(Staff).where(Staff.telegram_user_id == user_id, Staff.active.is_(True)))


async def redeem(
    session: AsyncSession, *, code: str, chat_id: int, now: datetime, language: str = DEFAULT_LANGUAGE
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
        if patient.status in NO_CONTACT_STATUSES:
            return CodeProblem.ENDED
        if await patient_for_chat(session, chat_id=chat_id) is not None or await staff_for_user(
            session, user_id=chat_id
        ):
            return CodeProblem.CHAT_TAKEN
        old_chat = patient.telegram_chat_id
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
            if old_chat is not None:
                notes["moved_from_another_account"] = True
        if old_chat is not None:
            await _move_chat(session, patient=patient, old_chat=old_chat, new_chat=chat_id, now=now)
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
    old_account = staff.telegram_user_id
    staff.telegram_user_id, staff.linked_at, invite.used_at, staff.language = chat_id, now, now, language
    record_event(
        session,
        actor=f"staff:{staff.id}",
        action="staff.link",
        entity=staff,
        at=now,
        after={"telegram_linked": True, **({"moved_from_another_account": True} if old_account else {})},
    )
    if old_account is not None:
        await unlinked_notice(session, chat_id=old_account, language=staff.language, key=f"staff:{staff.id}", now=now)
        await reset_staff_menu(session, chat_id=old_account, key=f"staff:{staff.id}", now=now)
    await session.commit()
    return LinkedStaff(staff, await _site(session, staff.site_id))


NO_LONGER_LINKED = N_(
    "This Telegram account is no longer linked to the follow-up study: it was moved to another account with a "
    "new link. If that was not you, please call your study nurse (coordinator)."
)


async def unlinked_notice(session: AsyncSession, *, chat_id: int, language: str, key: str, now: datetime) -> None:
    """Tell a chat that its link to the study moved elsewhere (so nobody waits there for reminders)."""
    _ = gettext_for(language)
    await enqueue(
        session,
        dedupe_key=f"unlinked:{key}:{chat_id}:{now.isoformat()}",
        chat_id=chat_id,
        now=now,
        payload={"text": _(NO_LONGER_LINKED)},
    )


async def reset_staff_menu(session: AsyncSession, *, chat_id: int, key: str, now: datetime) -> None:
    """Take the staff command menu away from a chat (it falls back to the patients' default menu)."""
    await enqueue(
        session,
        dedupe_key=f"menu-reset:{key}:{chat_id}:{now.isoformat()}",
        chat_id=chat_id,
        now=now,
        method="deleteMyCommands",
        payload={},
    )


async def _move_chat(session: AsyncSession, *, patient: Patient, old_chat: int, new_chat: int, now: datetime) -> None:
    """The patient redeemed a new link from another account: what waits to be sent goes to the new chat,
    and the old chat is told it is no longer linked."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.patient_id == patient.id,
            OutboxMessage.chat_id == old_chat,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(chat_id=new_chat)
    )
    patient.unreachable = False
    await unlinked_notice(session, chat_id=old_chat, language=patient.language, key=f"patient:{patient.id}", now=now)


async def _site(session: AsyncSession, site_id: int) -> Site:
    site = await session.get(Site, site_id)
    assert site is not None
    return site


async def give_consent(
    session: AsyncSession,
    *,
    patient: Patient,
    agree: bool,
    now: datetime,
    version: str | None = None,
    shown_text: str | None = None,
) -> bool:
    """Record the answer to the consent question. Returns False if it was already answered (a stale tap).

    After "I agree" the reminder time is asked; no check-in or dose reminder goes out until it is chosen or
    the protocol's default delay has passed (`apply_default_reminder_times`)."""
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
        patient.status, patient.consented_at, patient.awaiting, patient.awaiting_since = (
            PatientStatus.ACTIVE,
            now,
            FIRST_REMINDER_TIME,
            now,
        )
        # attributable: which version, in which language, and exactly which text the patient agreed to
        patient.consent_version, patient.consent_language = version, patient.language
        patient.consent_text_sha256 = hashlib.sha256(shown_text.encode()).hexdigest() if shown_text else None
    await session.commit()
    return True


async def set_reminder_time(
    session: AsyncSession, *, patient: Patient, reminder_time: time, protocol: StudyProtocol, now: datetime
) -> None:
    """The patient chose a time; the first choice ends onboarding, and what is already due goes out."""
    patient.awaiting, patient.awaiting_since = None, None
    if patient.onboarded_at is None:
        _onboard(session, patient=patient, how="chosen", now=now)
        await send_open_contacts_now(session, patient=patient, now=now)
    await change_reminder_time(
        session,
        patient=patient,
        reminder_time=reminder_time,
        protocol=protocol,
        actor=f"patient:{patient.study_id}",
        now=now,
    )


async def await_input(session: AsyncSession, *, patient: Patient, what: str | None, now: datetime) -> None:
    patient.awaiting, patient.awaiting_since = what, (now if what else None)
    await session.commit()


async def set_language(session: AsyncSession, *, patient: Patient, language: str, now: datetime) -> None:
    """The patient's own choice (/language), audited; a language the bot has no catalog for is refused."""
    language = language_or_error(language)
    with audited(session, entity=patient, actor=f"patient:{patient.study_id}", action="patient.language", at=now):
        patient.language = language
    await session.commit()


def _onboard(session: AsyncSession, *, patient: Patient, how: str, now: datetime) -> None:
    """The reminder time is settled: from now on check-ins and dose reminders may go out."""
    patient.onboarded_at = now
    record_event(
        session,
        actor=f"patient:{patient.study_id}" if how == "chosen" else "system",
        action="patient.onboarded",
        entity=patient,
        at=now,
        after={"reminder_time": how},
    )


DEFAULT_TIME_APPLIED = N_(
    "You have not chosen a reminder time, so I will remind you at {time}. You can change it at any time with "
    "/time. If you feel unwell at any time, send /report."
)


async def apply_default_reminder_times(session: AsyncSession, *, protocol: StudyProtocol, now: datetime) -> int:
    """Patients who consented but chose no reminder time within the protocol's delay keep the time they
    were enrolled with: they are told which, and their contacts start. Commits; returns how many."""
    asked_before = now - timedelta(minutes=protocol.safety.reminder_time_default_after_minutes)
    waiting = await session.scalars(
        select(Patient)
        .where(Patient.onboarded_at.is_(None), Patient.awaiting_since <= asked_before)  # a partial index
        .order_by(Patient.awaiting_since)
        .with_for_update(skip_locked=True)
    )
    applied = 0
    for patient in waiting.all():
        if patient.status is not PatientStatus.ACTIVE:
            continue
        if patient.awaiting == FIRST_REMINDER_TIME:
            patient.awaiting, patient.awaiting_since = None, None
        _onboard(session, patient=patient, how="default", now=now)
        await send_open_contacts_now(session, patient=patient, now=now)
        if patient.telegram_chat_id is not None:
            _ = gettext_for(patient.language)
            await enqueue(
                session,
                dedupe_key=f"default-time:{patient.id}",
                chat_id=patient.telegram_chat_id,
                patient_id=patient.id,
                now=now,
                payload={"text": _(DEFAULT_TIME_APPLIED).format(time=clock(patient.reminder_time))},
            )
        applied += 1
    await session.commit()
    return applied
