"""Escalations: suspected infections travelling up the site's chain until someone acknowledges them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import changed, record_event, snapshot
from models import Escalation, EscalationStatus, Patient, TriageDecision, TriageLevel

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
    before = snapshot(escalation)
    escalation.reasons = list(dict.fromkeys([*escalation.reasons, *decision.reasons]))
    escalation.response_id = decision.response_id
    if decision.level.rank > escalation.level.rank:
        escalation.level = decision.level
        escalation.status = EscalationStatus.OPEN
        escalation.raised_at, escalation.stage, escalation.repeats, escalation.next_step_at = now, 0, 0, now
    old, new = changed(before, snapshot(escalation))
    record_event(
        session, actor="system", action="escalation.update", entity=escalation, at=now, before=old, after=new
    )
    return escalation
