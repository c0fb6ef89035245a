"""Escalations: suspected infections travelling up the site's chain until someone acknowledges them."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import rows_payload
from bot.db import get_for_update
from bot.delivery.outbox import enqueue
from bot.i18n import gettext_for
from bot.protocol import EscalationChain, StudyProtocol
from bot.roles import ACKNOWLEDGING_ROLES, ROLE_NAMES
from bot.services import staff_prompts
from bot.services.alerts import acknowledged_line, alert_buttons, alert_text, resolve_buttons
from bot.services.audit import audited, record_event, snapshot
from bot.services.text import visible_text
from models import (
    Answer,
    ContactStatus,
    DismissalReason,
    Escalation,
    EscalationNotification,
    EscalationStatus,
    Lane,
    OutboxMessage,
    OutboxStatus,
    Patient,
    PatientMessage,
    ScheduledContact,
    Site,
    Staff,
    StaffRole,
    TriageLevel,
)


@dataclass(frozen=True)
class Trigger:
    """One report that may mean danger: its level, the reasons, and where it came from (one of the two)."""

    level: TriageLevel
    reasons: tuple[str, ...]
    response_id: int | None = None  # a check-in or /report
    patient_message_id: int | None = None  # a message the patient sent outside a question
    in_hospital: bool = False  # the patient said they are in hospital now (in_hospital_now = yes)

    @property
    def source(self) -> str:
        """Names the report, so the same report never sends its advice or its re-alert twice."""
        if self.response_id is not None:
            return f"response{self.response_id}"
        return f"message{self.patient_message_id}"


ESCALATING = (TriageLevel.URGENT, TriageLevel.INFECTION)
UNRESOLVED = (EscalationStatus.OPEN, EscalationStatus.ACKNOWLEDGED)
NOBODY_LINKED_RETRY = timedelta(minutes=30)


async def unresolved_escalation(session: AsyncSession, *, patient_id: int) -> Escalation | None:
    return await session.scalar(
        select(Escalation).where(Escalation.patient_id == patient_id, Escalation.status.in_(UNRESOLVED))
    )


async def escalate(
    session: AsyncSession, *, patient: Patient, trigger: Trigger, protocol: StudyProtocol, now: datetime
) -> Escalation | None:
    """Open an escalation for an urgent or infection report and notify its first step at once, or fold the
    report into the patient's unresolved escalation. The caller commits.

    Folding adds the reasons and raises the level; a higher level restarts the chain. A new report after an
    acknowledgement is sent to the acknowledger and the site's clinicians ("new report since acknowledged"), and
    an urgent one restarts the chain. `raised_at` (the first report) never changes; `level_raised_at` is when
    the chain last (re)started.
    """
    if trigger.level not in ESCALATING:
        return None
    found = await unresolved_escalation(session, patient_id=patient.id)
    if found is None:
        return await _open(session, patient=patient, trigger=trigger, protocol=protocol, now=now)
    escalation = await get_for_update(session, Escalation, found.id)
    assert escalation is not None
    await _fold(session, escalation=escalation, trigger=trigger, protocol=protocol, now=now)
    return escalation


async def _open(
    session: AsyncSession, *, patient: Patient, trigger: Trigger, protocol: StudyProtocol, now: datetime
) -> Escalation:
    escalation = Escalation(
        patient_id=patient.id,
        site_id=patient.site_id,
        level=trigger.level,
        reasons=list(trigger.reasons),
        response_id=trigger.response_id,
        patient_message_id=trigger.patient_message_id,
        status=EscalationStatus.OPEN,
        raised_at=now,
        level_raised_at=now,
        stage=0,
        repeats=0,
        next_step_at=now,
    )
    session.add(escalation)
    await session.flush()
    record_event(
        session, actor="system", action="escalation.raise", entity=escalation, at=now, after=snapshot(escalation)
    )
    await _advance_chain(session, escalation=escalation, protocol=protocol, now=now)
    return escalation


async def _fold(
    session: AsyncSession, *, escalation: Escalation, trigger: Trigger, protocol: StudyProtocol, now: datetime
) -> None:
    """A new report for an unresolved escalation (see `escalate`)."""
    new_reasons = [reason for reason in trigger.reasons if reason not in escalation.reasons]
    new_report = (
        bool(new_reasons)
        or (trigger.response_id is not None and trigger.response_id != escalation.response_id)
        or (trigger.patient_message_id is not None and trigger.patient_message_id != escalation.patient_message_id)
    )
    rises = trigger.level.rank > escalation.level.rank
    since_acknowledged = escalation.status is EscalationStatus.ACKNOWLEDGED and (new_report or rises)
    restart = rises or (since_acknowledged and trigger.level is TriageLevel.URGENT)
    with audited(session, entity=escalation, actor="system", action="escalation.update", at=now):
        # the newest report's reasons first (most severe first, as triage gives them), then the earlier ones
        escalation.reasons = [*trigger.reasons, *(code for code in escalation.reasons if code not in trigger.reasons)]
        escalation.response_id = trigger.response_id or escalation.response_id
        escalation.patient_message_id = trigger.patient_message_id or escalation.patient_message_id
        escalation.level = trigger.level if rises else escalation.level
        if restart:
            escalation.status, escalation.stage, escalation.repeats = EscalationStatus.OPEN, 0, 0
            escalation.level_raised_at = escalation.next_step_at = now
    if since_acknowledged:
        await _notify(
            session,
            escalation=escalation,
            staff=await _since_acknowledged_audience(session, escalation=escalation),
            label="step0" if restart else f"report-{trigger.source}",  # a restart's first step: once per person
            protocol=protocol,
            now=now,
        )
    if restart:
        await _advance_chain(session, escalation=escalation, protocol=protocol, now=now)
    elif new_report and escalation.status is EscalationStatus.OPEN:
        await _refresh_alerts(session, escalation=escalation, protocol=protocol, now=now)


async def _since_acknowledged_audience(session: AsyncSession, *, escalation: Escalation) -> list[Staff]:
    """Who hears of a new report on an acknowledged alert: the acknowledger and the site's clinicians."""
    clinicians = await recipients_of_site(session, site_id=escalation.site_id, roles=[StaffRole.CLINICIAN])
    acknowledger = await session.get(Staff, escalation.acknowledged_by) if escalation.acknowledged_by else None
    reachable = acknowledger is not None and acknowledger.active and acknowledger.telegram_user_id is not None
    if acknowledger is None or not reachable or acknowledger in clinicians:
        return clinicians
    return [acknowledger, *clinicians]


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


async def study_admins(session: AsyncSession) -> list[Staff]:
    """Linked, active admins (of every site)."""
    query = select(Staff).where(
        Staff.active.is_(True), Staff.telegram_user_id.is_not(None), Staff.role == StaffRole.ADMIN
    )
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


def _generation(escalation: Escalation) -> int:
    """Alerts of one run of the chain share this number: a restarted chain alerts the same people again."""
    return int((escalation.level_raised_at or escalation.raised_at).timestamp())


@dataclass(frozen=True)
class _Facts:
    """What an alert shows, loaded once for all its recipients."""

    patient: Patient
    site: Site
    answers: dict[str, Any]
    message: PatientMessage | None
    last_dose: datetime | None

    def text(self, escalation: Escalation, *, protocol: StudyProtocol, language: str, now: datetime) -> str:
        return alert_text(
            escalation=escalation,
            patient=self.patient,
            site=self.site,
            answers=self.answers,
            message=self.message,
            last_dose=self.last_dose,
            protocol=protocol,
            language=language,
            now=now,
        )


async def _facts(session: AsyncSession, escalation: Escalation) -> _Facts:
    patient = await session.get_one(Patient, escalation.patient_id)
    message_id = escalation.patient_message_id
    return _Facts(
        patient=patient,
        site=await session.get_one(Site, escalation.site_id),
        answers=await _answers(session, escalation.response_id),
        message=await session.get(PatientMessage, message_id) if message_id else None,
        last_dose=await session.scalar(
            select(func.max(ScheduledContact.answered_at)).where(
                ScheduledContact.patient_id == patient.id, ScheduledContact.status == ContactStatus.TAKEN
            )
        ),
    )


def _buttons(escalation: Escalation, language: str) -> list[list[list[str]]]:
    """The alert's buttons as an outbox payload stores them: Acknowledge, then the two ways to resolve it."""
    if escalation.status is EscalationStatus.OPEN:
        return rows_payload(alert_buttons(escalation.id, language))
    return rows_payload(resolve_buttons(escalation.id, language))


async def _notify(
    session: AsyncSession,
    *,
    escalation: Escalation,
    staff: list[Staff],
    label: str,
    protocol: StudyProtocol,
    now: datetime,
) -> int:
    """Queue the alert (URGENT lane) to each of `staff`, once per person per run of the chain for a step (label
    "step…"), once per repeat or new report otherwise. Returns how many were queued."""
    facts = await _facts(session, escalation)
    generation = _generation(escalation)
    sent = 0
    for member in staff:
        assert member.telegram_user_id is not None
        once = "" if label.startswith("step") else f":{label}"
        key = f"alert:{escalation.id}:{generation}{once}:staff{member.id}"
        text = facts.text(escalation, protocol=protocol, language=member.language, now=now)
        if await enqueue(
            session,
            dedupe_key=key,
            chat_id=member.telegram_user_id,
            now=now,
            staff_id=member.id,
            lane=Lane.URGENT,
            payload={"text": text, "buttons": _buttons(escalation, member.language)},
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


async def _refresh_alerts(
    session: AsyncSession, *, escalation: Escalation, protocol: StudyProtocol, now: datetime
) -> None:
    """More of the same report came in while the alert waits: alerts not yet sent get the new text, sent ones
    are edited to it, so every recipient sees the whole report."""
    await session.flush()
    facts = await _facts(session, escalation)
    prefix = f"alert:{escalation.id}:{_generation(escalation)}:"
    notifications = await session.scalars(
        select(EscalationNotification).where(EscalationNotification.escalation_id == escalation.id)
    )
    for notification in notifications:
        if not notification.outbox_key.startswith(prefix):
            continue
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == notification.outbox_key))
        member = await session.get_one(Staff, notification.staff_id)
        if row is None or row.status in (OutboxStatus.DEAD, OutboxStatus.CANCELLED):
            continue
        text = facts.text(escalation, protocol=protocol, language=member.language, now=now)
        if row.status is OutboxStatus.SENT and row.telegram_message_id is not None:
            await enqueue(
                session,
                dedupe_key=f"{row.dedupe_key}:update{len(escalation.reasons)}",
                chat_id=row.chat_id,
                now=now,
                method="editMessageText",
                staff_id=member.id,
                lane=Lane.URGENT,
                payload={
                    "text": text,
                    "message_id": row.telegram_message_id,
                    "buttons": _buttons(escalation, member.language),
                },
            )
        row.payload = {**row.payload, "text": text}  # what the message shows now (the acknowledgement edits it)


async def _advance_chain(
    session: AsyncSession, *, escalation: Escalation, protocol: StudyProtocol, now: datetime
) -> None:
    """Take the step that is due (or the next repeat); a step that reaches nobody (no linked, active staff in
    those roles at the site) hands over to the next one at once. Then set when the next step is due."""
    chain = chain_for(protocol, escalation.level)
    if escalation.stage >= len(chain.steps):  # every step was notified: this is a repeat to all of them
        escalation.repeats += 1
        roles = sorted({role for step in chain.steps for role in step.roles})
        staff = await recipients(session, escalation=escalation, roles=roles)
        label = f"repeat{escalation.repeats}"
        await _notify(session, escalation=escalation, staff=staff, label=label, protocol=protocol, now=now)
    reached = False
    while escalation.stage < len(chain.steps) and not reached:
        step = chain.steps[escalation.stage]
        staff = await recipients(session, escalation=escalation, roles=list(step.roles))
        label = f"step{escalation.stage}"
        await _notify(session, escalation=escalation, staff=staff, label=label, protocol=protocol, now=now)
        escalation.stage += 1
        reached = bool(staff)
    if not reached and escalation.stage >= len(chain.steps) and not await _anyone_notified(session, escalation):
        # Nobody in the whole chain is linked: try again from the first step until someone is.
        escalation.stage, escalation.next_step_at = 0, now + NOBODY_LINKED_RETRY
        return
    escalation.next_step_at = _next_step(escalation, chain)


async def _anyone_notified(session: AsyncSession, escalation: Escalation) -> bool:
    await session.flush()
    found = await session.scalar(
        select(EscalationNotification.id).where(EscalationNotification.escalation_id == escalation.id).limit(1)
    )
    return found is not None


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
        await _advance_chain(session, escalation=escalation, protocol=protocol, now=now)
    await session.commit()
    return taken


def _next_step(escalation: Escalation, chain: EscalationChain) -> datetime | None:
    started = escalation.level_raised_at or escalation.raised_at
    if escalation.stage < len(chain.steps):
        return started + timedelta(minutes=chain.steps[escalation.stage].after_minutes)
    if chain.repeat_every_minutes is not None and escalation.repeats < chain.max_repeats:
        last = chain.steps[-1].after_minutes + chain.repeat_every_minutes * (escalation.repeats + 1)
        return started + timedelta(minutes=last)
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
        # The first acknowledgement stays (minutes-to-acknowledge); a later one, after a new report, is audited.
        escalation.status = EscalationStatus.ACKNOWLEDGED
        escalation.acknowledged_at = escalation.acknowledged_at or now
        escalation.acknowledged_by = escalation.acknowledged_by or staff.id
        escalation.next_step_at = None
    await _show_acknowledgement(session, escalation=escalation, by=staff, now=now)
    patient = await session.get_one(Patient, escalation.patient_id)
    if patient.telegram_chat_id is not None:
        _ = gettext_for(patient.language)
        await enqueue(
            session,
            dedupe_key=f"ack:{escalation.id}:{_generation(escalation)}",
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


async def start_dismissal(session: AsyncSession, *, staff: Staff, escalation_id: int, now: datetime) -> bool:
    """ "Not an infection" was tapped: if the staff member may resolve this open alert, the next text they type
    (soon enough, see staff_prompts) is its reason, unless they tap a coded one. False if they may not. Commits."""
    escalation = await session.get(Escalation, escalation_id)
    if escalation is None or not may_acknowledge(staff, escalation) or escalation.status not in UNRESOLVED:
        return False
    staff_prompts.ask_dismissal_reason(staff, escalation_id=escalation.id, now=now)
    await session.commit()
    return True


async def dismiss(
    session: AsyncSession,
    *,
    staff: Staff,
    escalation_id: int,
    code: DismissalReason,
    reason: str | None = None,
    now: datetime,
) -> Escalation | None:
    """ "Not an infection", with a coded reason ("other" needs the reason in words). None if this staff member
    may not, the words are missing, or it is already resolved."""
    escalation = await get_for_update(session, Escalation, escalation_id)
    reason = visible_text(reason or "")[:1000] or None
    if escalation is None or not may_acknowledge(staff, escalation) or (code is DismissalReason.OTHER and not reason):
        return None
    if escalation.status not in UNRESOLVED:
        return None
    with audited(session, entity=escalation, actor=f"staff:{staff.id}", action="escalation.dismiss", at=now):
        escalation.status, escalation.resolved_at, escalation.resolved_by = (
            EscalationStatus.DISMISSED,
            now,
            staff.id,
        )
        escalation.dismissal_code, escalation.resolution_reason, escalation.next_step_at = code, reason, None
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
