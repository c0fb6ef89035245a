"""A check-in's answers triaged as they stand, with the dose log, and the alarm raised when they are urgent."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.forms import DECIDED_BY, counted_answers, visible_items
from bot.plan import local_instant
from bot.protocol import StudyProtocol
from bot.services.escalation import Trigger
from bot.services.safety import raise_alarm
from bot.services.triage import Answers, TriageResult, triage
from models import (
    ContactKind,
    ContactStatus,
    FormKind,
    Group,
    Patient,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    TriageLevel,
)

REPORT_RECALL = timedelta(days=3)  # /report asks about now "or the last few days"


async def recall_start(
    session: AsyncSession, *, patient: Patient, response: QuestionnaireResponse, now: datetime
) -> datetime:
    """The start of the period the answers cover: the last submitted check-in (or the baseline) for a check-in,
    the last few days for /report."""
    if response.form is FormKind.REPORT:
        return now - REPORT_RECALL
    last = await session.scalar(
        select(func.max(QuestionnaireResponse.submitted_at)).where(
            QuestionnaireResponse.patient_id == patient.id,
            QuestionnaireResponse.form == FormKind.CHECKIN,
            QuestionnaireResponse.status == ResponseStatus.SUBMITTED,
            QuestionnaireResponse.id != response.id,
        )
    )
    return last if last is not None else local_instant(patient.baseline_date, time(0), ZoneInfo(patient.timezone))


async def confirmed_dose_between(session: AsyncSession, *, patient: Patient, start: datetime, end: datetime) -> bool:
    """The dose log has a dose the patient confirmed (Taken) planned in start..end."""
    found = await session.scalar(
        select(ScheduledContact.id)
        .where(
            ScheduledContact.patient_id == patient.id,
            ScheduledContact.kind == ContactKind.DOSE,
            ScheduledContact.status == ContactStatus.TAKEN,
            ScheduledContact.due_at >= start,
            ScheduledContact.due_at <= end,
        )
        .limit(1)
    )
    return found is not None


async def triage_response(
    session: AsyncSession,
    *,
    patient: Patient,
    response: QuestionnaireResponse,
    answers: dict[str, Any],
    protocol: StudyProtocol,
    now: datetime,
) -> TriageResult:
    """Triage with the dose log: a reported fever may follow a dose confirmed in the period the answers cover."""
    dose_in_recall = False
    if patient.group is Group.IL2 and answers.get("fever") == "yes":
        start = await recall_start(session, patient=patient, response=response, now=now)
        dose_in_recall = await confirmed_dose_between(session, patient=patient, start=start, end=now)
    return triage(
        Answers.model_validate(answers),
        group=patient.group,
        rules=protocol.triage,
        hours_since_il2_dose=None,
        il2_dose_in_recall=dose_in_recall,
    )


async def alarm_on_answer(
    session: AsyncSession,
    *,
    patient: Patient,
    response: QuestionnaireResponse,
    answers: dict[str, Any],
    protocol: StudyProtocol,
    now: datetime,
) -> None:
    """A red flag acts when it is answered, not at Submit: answers that already make the level urgent send
    the advice and open the escalation in the same transaction as the answer (once per response)."""
    shown = {item.id for item in visible_items(response.form, answers, patient.group)}
    kept = counted_answers(answers, shown)
    for item_id, follow_ups in DECIDED_BY.items():  # "in hospital": not an alarm until we know why
        if any(follow_up in shown and follow_up not in answers for follow_up in follow_ups):
            kept.pop(item_id, None)
    result = await triage_response(
        session, patient=patient, response=response, answers=kept, protocol=protocol, now=now
    )
    if result.level is TriageLevel.URGENT:
        trigger = Trigger(result.level, result.reasons, response_id=response.id, in_hospital=in_hospital(kept))
        await raise_alarm(session, patient=patient, trigger=trigger, protocol=protocol, now=now)


def in_hospital(answers: dict[str, Any]) -> bool:
    """The patient is in hospital now: the advice says to tell the ward's doctors, not to go to an emergency room."""
    return answers.get("in_hospital_now") == "yes"
