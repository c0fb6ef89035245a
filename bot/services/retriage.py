"""A corrected check-in is triaged again (`followup answers correct`, the console's correction).

A correction is staff entering data after the fact, often weeks later: the clinicians are alerted through the
escalation chain when the corrected answers now call for it (urgent or suspected infection), but the patient is
not sent emergency advice about a past report (the staff member who made the correction has just spoken to the
patient or read the chart; an automatic "call 120 now" about last month would confuse and alarm). The stored
triage decision is updated, with its level and reasons before and after in the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.protocol import StudyProtocol
from bot.services.audit import audited
from bot.services.checkin_triage import triage_response
from bot.services.escalation import ESCALATING, Trigger, escalate
from models import Answer, Patient, QuestionnaireResponse, TriageDecision, TriageLevel


async def retriage_corrected(
    session: AsyncSession,
    *,
    patient: Patient,
    response: QuestionnaireResponse,
    reason: str,
    actor: str,
    protocol: StudyProtocol,
    now: datetime,
) -> TriageLevel:
    """Triage the response's current answers as of its submission; store the decision (audited) and escalate
    to the clinicians if the level now calls for it and the correction added something. Returns the new level.
    The caller commits."""
    rows = await session.scalars(select(Answer).where(Answer.response_id == response.id))
    answers: dict[str, Any] = {row.item_id: row.value for row in rows if row.value is not None}
    result = await triage_response(
        session,
        patient=patient,
        response=response,
        answers=answers,
        protocol=protocol,
        now=response.submitted_at or now,
    )
    decision = await session.scalar(select(TriageDecision).where(TriageDecision.response_id == response.id))
    if decision is None:
        decision = TriageDecision(
            response_id=response.id, patient_id=patient.id, level=TriageLevel.NONE, reasons=[], decided_at=now
        )
        session.add(decision)
        await session.flush()
    before_level, before_reasons = decision.level, list(decision.reasons)
    if (result.level, list(result.reasons)) == (before_level, before_reasons):
        return result.level
    with audited(session, entity=decision, actor=actor, action="triage.retriage", at=now) as notes:
        decision.level, decision.reasons, decision.decided_at = result.level, list(result.reasons), now
        notes["reason"] = reason
    added = [code for code in result.reasons if code not in before_reasons]
    if result.level in ESCALATING and (result.level.rank > before_level.rank or added):
        await escalate(
            session, patient=patient, trigger=Trigger(result.level, result.reasons, response_id=response.id),
            protocol=protocol, now=now,
        )  # fmt: skip
    return result.level
