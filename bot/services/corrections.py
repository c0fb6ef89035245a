"""Corrections under Good Clinical Practice: a reason for every change, the original kept in the audit trail,
the current value flagged `corrected` in the exports (ALCOA+)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.forms import FORMS, Invalid, Item, Kind, parse_typed
from bot.i18n import N_
from bot.protocol import StudyProtocol
from bot.services.audit import audited, record_event
from bot.services.errors import DomainError, NotFound
from bot.services.infection_follow_up import follow_the_infections
from bot.services.infections import (
    InfectionDetails,
    check_death_date,
    check_onset,
    details_or_error,
    record_fatal,
)
from bot.services.retriage import retriage_corrected
from bot.services.staff_changes import reason_or_error
from models import (
    Answer,
    ContactKind,
    FormKind,
    Infection,
    Patient,
    PatientStatus,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    TriageLevel,
)

CHECKIN_ITEMS = {item.id: item for item in FORMS[FormKind.CHECKIN]}


def corrected_value(item: Item, text: str) -> Any:
    """The stored form of a corrected answer typed by a coordinator (option codes as the codebook lists them)."""
    text = text.strip()
    if item.kind is Kind.MULTI:
        codes = [code.strip() for code in text.split(",") if code.strip()]
        unknown = [code for code in codes if code not in item.options]
        if not codes or unknown:
            raise DomainError(
                N_("--value: give {item} codes separated by commas, from {codes}"),
                item=item.id,
                codes=", ".join(item.options),
            )
        if "none" in codes and len(codes) > 1:
            raise DomainError(N_("--value: 'none' cannot go with other codes"))
        return list(dict.fromkeys(codes))
    if item.kind in (Kind.YES_NO, Kind.YES_NO_UNSURE) or text in item.choices():
        if text not in item.choices():
            raise DomainError(N_("--value: {item} is one of {codes}"), item=item.id, codes=", ".join(item.choices()))
        return text
    try:
        return parse_typed(item, text)
    except Invalid:
        limits = f"{item.minimum:g} to {item.maximum:g}" if item.kind is not Kind.TEXT else f"{item.maximum:g} chars"
        raise DomainError(
            N_("--value: {value} is not a valid {item} ({limits})"), value=repr(text), item=item.id, limits=limits
        ) from None


async def correct_answer(
    session: AsyncSession,
    *,
    patient: Patient,
    month: int,
    item_id: str,
    value: str,
    reason: str,
    actor: str,
    protocol: StudyProtocol,
    now: datetime,
) -> tuple[Any, Any, TriageLevel]:
    """Change one answer of the patient's submitted check-in of month `month`; returns (before, after, the
    check-in's triage level now). An item the patient was not shown is added. The check-in is triaged again
    (bot.services.retriage: the clinicians are alerted if it now calls for it). Commits."""
    reason = reason_or_error(reason)
    item = CHECKIN_ITEMS.get(item_id)
    if item is None:
        raise DomainError(
            N_("--item: {item} is not a check-in item ({items})"), item=repr(item_id), items=", ".join(CHECKIN_ITEMS)
        )
    new_value = corrected_value(item, value)
    response = await session.scalar(
        select(QuestionnaireResponse)
        .join(ScheduledContact, QuestionnaireResponse.contact_id == ScheduledContact.id)
        .where(
            ScheduledContact.patient_id == patient.id,
            ScheduledContact.kind == ContactKind.CHECKIN,
            ScheduledContact.month == month,
            QuestionnaireResponse.status == ResponseStatus.SUBMITTED,
        )
    )
    if response is None:
        raise NotFound(
            N_("{study_id} has no submitted check-in for month {month}"), study_id=patient.study_id, month=month
        )
    answer = await session.scalar(select(Answer).where(Answer.response_id == response.id, Answer.item_id == item.id))
    if answer is None:
        answer = Answer(response_id=response.id, item_id=item.id, value=None, answered_at=now)
        session.add(answer)
        await session.flush()
    before = answer.value
    if before == new_value:
        raise DomainError(
            N_("--value: {item} of month {month} is {value} already"), item=item.id, month=month, value=repr(before)
        )
    answer.value, answer.corrected = new_value, True
    await session.flush()
    level = await retriage_corrected(
        session, patient=patient, response=response, reason=reason, actor=actor, protocol=protocol, now=now
    )
    record_event(  # last: the correction is the newest entry of the patient's trail
        session,
        actor=actor,
        action="answer.correct",
        entity=answer,
        at=now,
        before={"study_id": patient.study_id, "month": month, "item": item.id, "value": before},
        after={"value": new_value, "reason": reason},
    )
    await session.commit()
    return before, new_value, level


async def get_infection(session: AsyncSession, *, infection_id: int) -> tuple[Infection, Patient]:
    infection = await session.get(Infection, infection_id)
    if infection is None:
        raise NotFound(f"no infection #{infection_id}")
    patient = await session.get_one(Patient, infection.patient_id)
    return infection, patient


async def amend_infection(
    session: AsyncSession,
    *,
    infection_id: int,
    changes: dict[str, Any],
    reason: str,
    actor: str,
    now: datetime,
    died_on: date | None = None,
) -> tuple[Infection, str | None]:
    """Change fields of a recorded infection (checked like a new record). Made fatal (grade 5), it needs the date
    of death and ends follow-up as died; no longer fatal, a death recorded with it is withdrawn; the end of
    follow-up follows the onsets (`infection_follow_up`). Returns the infection and what happened to the
    patient's follow-up (None: nothing). Commits."""
    reason = reason_or_error(reason)
    changes = {field: value for field, value in changes.items() if value is not None}
    if not changes and died_on is None:
        raise DomainError("nothing to change: give at least one field to amend")
    infection, patient = await get_infection(session, infection_id=infection_id)
    if infection.voided_at is not None:
        raise DomainError(f"infection #{infection.id} is void")
    current = {field: getattr(infection, field) for field in InfectionDetails.model_fields}
    details = details_or_error(**{**current, **changes})
    if details.columns() == InfectionDetails.model_validate(current).columns() and died_on is None:
        raise DomainError(f"nothing to change: infection #{infection.id} has these values already")
    today = check_onset(details, patient=patient, now=now)
    made_fatal = details.ctcae_grade == 5 and infection.ctcae_grade != 5
    if made_fatal:
        check_death_date(details, died_on=died_on, patient=patient, today=today)
    elif died_on is not None:
        raise DomainError("date of death: only when the amendment makes the infection fatal (grade 5)")
    with audited(session, entity=infection, actor=actor, action="infection.amend", at=now) as notes:
        for field, value in details.columns().items():
            setattr(infection, field, value)
        infection.corrected = True
        notes["reason"] = reason
    await session.flush()
    if died_on is not None and patient.status is not PatientStatus.DIED:
        await record_fatal(
            session, patient=patient, infection=infection, died_on=died_on, actor=actor, now=now, reason=reason
        )
        outcome: str | None = f"follow-up ended: died on {died_on}"
    else:
        outcome = await follow_the_infections(session, patient=patient, reason=reason, actor=actor, now=now)
    await session.commit()
    return infection, outcome
