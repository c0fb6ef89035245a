"""Escalations: suspected infections travelling up the site's chain until someone acknowledges them."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import get_for_update
from bot.delivery.outbox import enqueue
from bot.i18n import gettext_for
from bot.protocol import EscalationChain, StudyProtocol
from bot.services.alerts import ROLE_NAMES, acknowledged_line, alert_buttons, alert_text
from bot.services.audit import audited, record_event, snapshot
from bot.services.text import visible_text
from models import (
    Answer,
    ContactStatus,
    Escalation,
    EscalationNotification,
    EscalationStatus,
    OutboxMessage,
    OutboxStatus,
    Patient,
    ScheduledContact,
    Site,
    Staff,
    StaffRole,
    TriageDecision,
    TriageLevel,
)

ESCALATING = (TriageLevel.URGENT, TriageLevel.INFECTION)
UNRESOLVED = (EscalationStatus.OPEN, EscalationStatus.ACKNOWLEDGED)


async def unresolved_escalation(session: AsyncSession, *, patient_id: int) -> Escalation | None:
    return await session.scalar(
        select(Escalation).where(Escalation.patient_id == patient_id, Escalation.status.in_(UNRESOLVED))
    )


async def escalate(
    session: AsyncSession, *, patient: Patient, decision: TriageDecision, now: datetime
) -> Escalation | None:
    """Open an escalation for an urgent or infection decision, or fold it into the patient's unresolved one
    (reasons added, level raised, the chain restarted when the level rises). The caller commits.

    `next_step_at = now` makes the escalation timer notify the first recipients on its next pass.
    """
    if decision.level not in ESCALATING:
        return None
    escalation = await unresolved_escalation(session, patient_id=patient.id)
    if escalation is None:
        escalation = Escalation(
            patient_id=patient.id,
            site_id=patient.site_id,
            level=decision.level,
            reasons=list(decision.reasons),
            response_id=decision.response_id,
            status=EscalationStatus.OPEN,
            raised_at=now,
            stage=0,
            repeats=0,
            next_step_at=now,
        )
        session.add(escalation)
        await session.flush()
        record_event(
            session,
            actor="system",
            action="escalation.raise",
            entity=escalation,
            at=now,
            after=snapshot(escalation),
        )
        return escalation
    with audited(session, entity=escalation, actor="system", action="escalation.update", at=now):
        escalation.reasons = list(dict.fromkeys([*escalation.reasons, *decision.reasons]))
        escalation.response_id = decision.response_id
        if decision.level.rank > escalation.level.rank:
            escalation.level = decision.level
            escalation.status = EscalationStatus.OPEN
            escalation.raised_at, escalation.stage, escalation.repeats, escalation.next_step_at = (
                now,
                0,
                0,
                now,
            )
    return escalation


ACKNOWLEDGING_ROLES = (StaffRole.CLINICIAN, StaffRole.PI, StaffRole.ADMIN)


def may_see(staff: Staff, escalation: Escalation) -> bool:
    """Staff act on their own site only; admins on every site (REDCap's data access groups)."""
    return staff.active and (staff.role is StaffRole.ADMIN or staff.site_id == escalation.site_id)


def may_acknowledge(staff: Staff, escalation: Escalation) -> bool:
    return may_see(staff, escalation) and staff.role in ACKNOWLEDGING_ROLES


def chain_for(protocol: StudyProtocol, level: TriageLevel) -> EscalationChain:
    return protocol.escalation.urgent if level is TriageLevel.URGENT else protocol.escalation.infection


async def recipients(session: AsyncSession, *, escalation: Escalation, roles: Sequence[str]) -> list[Staff]:
    """Linked, active staff with these roles: of the patient's site, and admins of any site."""
    wanted = [StaffRole(role) for role in roles]
    site_roles = [role for role in wanted if role is not StaffRole.ADMIN]
    condition = and_(Staff.site_id == escalation.site_id, Staff.role.in_(site_roles))
    if StaffRole.ADMIN in wanted:
        condition = or_(condition, Staff.role == StaffRole.ADMIN)
    query = select(Staff).where(Staff.active.is_(True), Staff.telegram_user_id.is_not(None), condition)
    return list((await session.scalars(query.order_by(Staff.id))).all())


async def recipients_of_site(session: AsyncSession, *, site_id: int, roles: Sequence[StaffRole]) -> list[Staff]:
    """Linked, active staff of one site with these roles."""
    query = select(Staff).where(
        Staff.active.is_(True),
        Staff.telegram_user_id.is_not(None),
        Staff.site_id == site_id,
        Staff.role.in_(roles),
    )
    return list((await session.scalars(query.order_by(Staff.id))).all())


async def _answers(session: AsyncSession, response_id: int | None) -> dict[str, Any]:
    if response_id is None:
        return {}
    rows = await session.scalars(select(Answer).where(Answer.response_id == response_id).order_by(Answer.id))
    return {row.item_id: row.value for row in rows}


async def _notify(
    session: AsyncSession,
    *,
    escalation: Escalation,
    staff: list[Staff],
    label: str,
    protocol: StudyProtocol,
    now: datetime,
) -> int:
    patient = await session.get_one(Patient, escalation.patient_id)
    site = await session.get_one(Site, escalation.site_id)
    answers = await _answers(session, escalation.response_id)
    last_dose = await session.scalar(
        select(func.max(ScheduledContact.answered_at)).where(
            ScheduledContact.patient_id == patient.id, ScheduledContact.status == ContactStatus.TAKEN
        )
    )
    sent = 0
    for member in staff:
        assert member.telegram_user_id is not None
        key = f"alert:{escalation.id}:{escalation.level.value}:{label}:staff{member.id}"
        text = alert_text(
            escalation=escalation,
            patient=patient,
            site=site,
            answers=answers,
            last_dose=last_dose,
            protocol=protocol,
            language=member.language,
            now=now,
        )
        if await enqueue(
            session,
            dedupe_key=key,
            chat_id=member.telegram_user_id,
            now=now,
            staff_id=member.id,
            payload={"text": text, "reply_markup": alert_buttons(escalation.id, member.language)},
        ):
            session.add(
                EscalationNotification(
                    escalation_id=escalation.id,
                    staff_id=member.id,
                    stage=escalation.stage,
                    outbox_key=key,
                    created_at=now,
                )
            )
            sent += 1
    return sent


async def step_escalations(session: AsyncSession, *, protocol: StudyProtocol, now: datetime) -> int:
    """Notify the next step of every open escalation whose time has come; commit. Returns the steps taken."""
    due = (
        await session.scalars(
            select(Escalation)
            .where(Escalation.next_step_at <= now, Escalation.status == EscalationStatus.OPEN)
            .order_by(Escalation.next_step_at)
            .with_for_update(skip_locked=True)
        )
    ).all()
    taken = 0
    for candidate in due:
        escalation = await get_for_update(session, Escalation, candidate.id)  # acknowledged meanwhile? (SQLite)
        if escalation is None or escalation.status is not EscalationStatus.OPEN or escalation.next_step_at is None:
            continue
        taken += 1
        chain = chain_for(protocol, escalation.level)
        if escalation.stage < len(chain.steps):
            step = chain.steps[escalation.stage]
            staff = await recipients(session, escalation=escalation, roles=list(step.roles))
            await _notify(
                session,
                escalation=escalation,
                staff=staff,
                label=f"step{escalation.stage}",
                protocol=protocol,
                now=now,
            )
            escalation.stage += 1
        else:  # the chain is exhausted: repeat to everyone in it
            escalation.repeats += 1
            roles = sorted({role for step in chain.steps for role in step.roles})
            staff = await recipients(session, escalation=escalation, roles=roles)
            await _notify(
                session,
                escalation=escalation,
                staff=staff,
                label=f"repeat{escalation.repeats}",
                protocol=protocol,
                now=now,
            )
        escalation.next_step_at = _next_step(escalation, chain)
    await session.commit()
    return taken


def _next_step(escalation: Escalation, chain: EscalationChain) -> datetime | None:
    if escalation.stage < len(chain.steps):
        return escalation.raised_at + timedelta(minutes=chain.steps[escalation.stage].after_minutes)
    if chain.repeat_every_minutes is not None and escalation.repeats < chain.max_repeats:
        last = chain.steps[-1].after_minutes + chain.repeat_every_minutes * (escalation.repeats + 1)
        return escalation.raised_at + timedelta(minutes=last)
    return None


class AckResult(enum.StrEnum):
    ACKNOWLEDGED = "acknowledged"
    ALREADY = "already"
    DENIED = "denied"
    GONE = "gone"


async def acknowledge(
    session: AsyncSession, *, staff: Staff, escalation_id: int, now: datetime
) -> tuple[AckResult, Escalation | None]:
    """Stop the chain, show the others who acknowledged, and tell the patient the site has seen the report."""
    escalation = await get_for_update(session, Escalation, escalation_id)
    if escalation is None or not may_see(staff, escalation):
        return AckResult.GONE if escalation is None else AckResult.DENIED, None
    if not may_acknowledge(staff, escalation):
        return AckResult.DENIED, escalation
    if escalation.status is not EscalationStatus.OPEN:
        return AckResult.ALREADY, escalation
    with audited(session, entity=escalation, actor=f"staff:{staff.id}", action="escalation.acknowledge", at=now):
        escalation.status, escalation.acknowledged_at, escalation.acknowledged_by = (
            EscalationStatus.ACKNOWLEDGED,
            now,
            staff.id,
        )
        escalation.next_step_at = None
    await _show_acknowledgement(session, escalation=escalation, by=staff, now=now)
    patient = await session.get_one(Patient, escalation.patient_id)
    if patient.telegram_chat_id is not None:
        _ = gettext_for(patient.language.value)
        await enqueue(
            session,
            dedupe_key=f"ack:{escalation.id}:{escalation.level.value}",
            now=now,
            chat_id=patient.telegram_chat_id,
            patient_id=patient.id,
            payload={"text": _("Your study team has seen your report and will contact you if needed.")},
        )
    await session.commit()
    return AckResult.ACKNOWLEDGED, escalation


async def _show_acknowledgement(session: AsyncSession, *, escalation: Escalation, by: Staff, now: datetime) -> None:
    """Edit every other recipient's alert to say who acknowledged; alerts not yet sent are cancelled."""
    site = await session.get_one(Site, escalation.site_id)
    notifications = await session.scalars(
        select(EscalationNotification).where(EscalationNotification.escalation_id == escalation.id)
    )
    for notification in notifications:
        message = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == notification.outbox_key))
        if message is None or notification.staff_id == by.id:
            continue
        if message.status is OutboxStatus.PENDING:
            message.status = OutboxStatus.CANCELLED
            continue
        if message.status is not OutboxStatus.SENT or message.telegram_message_id is None:
            continue
        member = await session.get_one(Staff, notification.staff_id)
        line = acknowledged_line(
            name=by.name, role=ROLE_NAMES[by.role], at=now, zone=site.timezone, language=member.language
        )
        await enqueue(
            session,
            dedupe_key=f"{notification.outbox_key}:acked",
            chat_id=message.chat_id,
            now=now,
            method="editMessageText",
            staff_id=member.id,
            payload={
                "text": f"{message.payload['text']}\n\n{line}",
                "message_id": message.telegram_message_id,
            },
        )


async def dismiss(
    session: AsyncSession, *, staff: Staff, escalation_id: int, reason: str, now: datetime
) -> Escalation | None:
    """ "Not an infection", with the reason. None if this staff member may not, or it is already resolved."""
    escalation = await get_for_update(session, Escalation, escalation_id)
    reason = visible_text(reason)[:1000]
    if escalation is None or not may_acknowledge(staff, escalation) or not reason:
        return None
    if escalation.status not in UNRESOLVED:
        return None
    with audited(session, entity=escalation, actor=f"staff:{staff.id}", action="escalation.dismiss", at=now):
        escalation.status, escalation.resolved_at, escalation.resolved_by = (
            EscalationStatus.DISMISSED,
            now,
            staff.id,
        )
        escalation.resolution_reason, escalation.next_step_at = reason, None
        escalation.acknowledged_at = escalation.acknowledged_at or now
        escalation.acknowledged_by = escalation.acknowledged_by or staff.id
    staff.awaiting = None
    await session.commit()
    return escalation


async def open_for(session: AsyncSession, *, staff: Staff) -> list[tuple[Escalation, Patient]]:
    """Unresolved escalations this staff member may see, most severe and oldest first."""
    query = (
        select(Escalation, Patient)
        .join(Patient, Escalation.patient_id == Patient.id)
        .where(Escalation.status.in_(UNRESOLVED))
        .order_by(Escalation.raised_at, Escalation.id)
    )
    if staff.role is not StaffRole.ADMIN:
        query = query.where(Escalation.site_id == staff.site_id)
    rows = [(escalation, patient) for escalation, patient in await session.execute(query)]
    return sorted(rows, key=lambda row: -row[0].level.rank)
