"""A check-in or symptom report handed in: the patient's Submit on the summary, or, left unfinished with
answers that already reach infection or urgent, submitted as partial by the scheduler. Either way the answers
are stored for good, triaged and escalated (the questions themselves: `checkins`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.forms import FORM_ITEMS, counted_answers, derived, visible_items
from bot.protocol import StudyProtocol
from bot.services.audit import record_event
from bot.services.checkin_answers import answer_values, answers_so_far
from bot.services.checkin_triage import in_hospital, triage_response
from bot.services.checkins import response_in_progress
from bot.services.errors import DomainError
from bot.services.escalation import ESCALATING, Trigger
from bot.services.follow_up import complete_if_final
from bot.services.safety import raise_alarm, send_thanks_after_alarm
from bot.services.triage import TriageResult
from models import (
    Answer,
    ContactStatus,
    FormKind,
    Patient,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    TriageDecision,
)


@dataclass(frozen=True)
class Submitted:
    form: FormKind
    result: TriageResult
    late: bool = False  # after the check-in's window closed: kept and triaged, not counted as on time


async def submit(
    session: AsyncSession, *, patient: Patient, response_id: int, protocol: StudyProtocol, now: datetime
) -> Submitted | None:
    """Store the answers for good, triage them and raise the alarm for what may be dangerous.

    Every answer set is triaged: a check-in finished after its window closed is kept and flagged `late` (it
    does not count as on time), never refused. None for a second tap on Submit."""
    response = await response_in_progress(session, patient=patient, response_id=response_id)
    if response is None or response.current_item is not None:
        return None
    return await _finish(session, patient=patient, response=response, protocol=protocol, now=now, partial=False)


async def _finish(
    session: AsyncSession,
    *,
    patient: Patient,
    response: QuestionnaireResponse,
    protocol: StudyProtocol,
    now: datetime,
    partial: bool,
) -> Submitted:
    contact = await session.get(ScheduledContact, response.contact_id) if response.contact_id else None
    late = contact is not None and (
        contact.window_end <= now or contact.status not in (ContactStatus.PLANNED, ContactStatus.OPEN)
    )
    answers = answer_values(await answers_so_far(session, response))
    shown = {item.id for item in visible_items(response.form, answers, patient.group)}
    await session.execute(delete(Answer).where(Answer.response_id == response.id, Answer.item_id.not_in(shown)))
    kept = counted_answers(answers, shown)
    missing = [item for item in shown if item not in answers and not FORM_ITEMS[response.form][item].optional]
    if missing and not partial:
        raise DomainError(f"unanswered items: {', '.join(sorted(missing))}")
    for item_id, value in derived(kept).items():  # stored with the answers they come from
        session.add(Answer(response_id=response.id, item_id=item_id, value=value, answered_at=now))
        kept[item_id] = value
    result = await triage_response(
        session, patient=patient, response=response, answers=kept, protocol=protocol, now=now
    )
    response.status, response.submitted_at, response.late, response.partial = (
        ResponseStatus.SUBMITTED,
        now,
        late,
        partial,
    )
    decision = TriageDecision(
        response_id=response.id,
        patient_id=patient.id,
        level=result.level,
        reasons=list(result.reasons),
        decided_at=now,
    )
    session.add(decision)
    if contact is not None and not late:
        contact.status, contact.answered_at, contact.next_action_at = ContactStatus.DONE, now, None
    await session.flush()
    if contact is not None and not late:
        await complete_if_final(session, patient=patient, contact=contact, protocol=protocol, now=now)
    record_event(
        session,
        actor="system" if partial else f"patient:{patient.study_id}",
        action=f"{response.form.value}.{'submit_unfinished' if partial else 'submit'}",
        entity=response,
        at=now,
        after={
            "answers": kept,
            "level": result.level.value,
            "reasons": list(result.reasons),
            "late": late,
            "partial": partial,
        },
    )
    trigger = Trigger(result.level, result.reasons, response_id=response.id, in_hospital=in_hospital(kept))
    if await raise_alarm(session, patient=patient, trigger=trigger, protocol=protocol, now=now) is not None:
        await send_thanks_after_alarm(session, patient=patient, protocol=protocol, source=trigger.source, now=now)
    await session.commit()
    return Submitted(response.form, result, late=late)


async def submit_unfinished(session: AsyncSession, *, protocol: StudyProtocol, now: datetime) -> int:
    """Questionnaires left unfinished for the protocol's time whose answers already reach infection or
    urgent are submitted as partial (flagged) and escalated; the others stay open. Commits each one."""
    idle_since = now - timedelta(minutes=protocol.safety.unfinished_after_minutes)
    last_answer = (
        select(func.max(Answer.answered_at))
        .where(Answer.response_id == QuestionnaireResponse.id)
        .correlate(QuestionnaireResponse)
        .scalar_subquery()
    )
    stale = await session.execute(  # in-progress responses only (a partial index): the answers of a few
        select(QuestionnaireResponse, Patient)
        .join(Patient, QuestionnaireResponse.patient_id == Patient.id)
        .where(QuestionnaireResponse.status == ResponseStatus.IN_PROGRESS, last_answer <= idle_since)
    )  # no ORDER BY: SQLite would scan every response in id order instead of the partial index
    submitted = 0
    for response, patient in stale.all():
        answers = answer_values(await answers_so_far(session, response))
        shown = {item.id for item in visible_items(response.form, answers, patient.group)}
        kept = counted_answers(answers, shown)
        result = await triage_response(
            session, patient=patient, response=response, answers=kept, protocol=protocol, now=now
        )
        if result.level in ESCALATING:
            await _finish(session, patient=patient, response=response, protocol=protocol, now=now, partial=True)
            submitted += 1
    return submitted
