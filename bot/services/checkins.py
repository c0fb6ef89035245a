"""The questionnaire engine: one item at a time, progress in the database, a summary, then submission.

Every step returns a view (what to show next) and never a Telegram object. Stale taps (an old keyboard, a
double tap) return None: the caller ignores them, so nothing is answered twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import NO_VALUE
from sqlalchemy.orm.attributes import set_committed_value

from bot.forms import (
    DECIDED_BY,
    FORM_ITEMS,
    FORMS,
    TYPED_KINDS,
    Invalid,
    Item,
    Kind,
    derived,
    parse_typed,
    visible_items,
)
from bot.i18n import N_
from bot.plan import local_instant
from bot.protocol import StudyProtocol
from bot.services.audit import record_event
from bot.services.errors import DomainError
from bot.services.escalation import ESCALATING
from bot.services.follow_up import complete_if_final
from bot.services.safety import Trigger, raise_alarm, send_thanks_after_alarm
from bot.services.triage import Answers, TriageResult, triage
from models import (
    Answer,
    ContactKind,
    ContactStatus,
    FormKind,
    Group,
    Patient,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    TriageDecision,
    TriageLevel,
)


@dataclass(frozen=True)
class AskItem:
    response_id: int
    item: Item
    number: int
    total: int
    selected: tuple[str, ...] = ()
    problem: str | None = None  # why the last typed answer was refused (a msgid with {minimum}/{maximum})
    recorded: tuple[Item, Any] | None = None  # the answer this step just stored, to confirm it to the patient
    message_id: int | None = None  # the message showing the questionnaire so far (see remember_message)
    same_as_last: bool = False  # "Same as last month" can copy this item from the last submitted check-in


@dataclass(frozen=True)
class Summary:
    response_id: int
    form: FormKind
    answers: list[tuple[Item, Any]] = field(default_factory=list)
    message_id: int | None = None


@dataclass(frozen=True)
class Submitted:
    form: FormKind
    result: TriageResult
    late: bool = False  # after the check-in's window closed: kept and triaged, not counted as on time


@dataclass(frozen=True)
class NothingDue:
    next_due: datetime | None


Step = AskItem | Summary | Submitted | NothingDue


_ANSWERS = select(Answer).where(Answer.response_id == bindparam("response_id"))


async def _answer_rows(session: AsyncSession, response_id: int) -> dict[str, Answer]:
    rows = await session.scalars(_ANSWERS, {"response_id": response_id})
    return {row.item_id: row for row in rows}


async def _answers_so_far(session: AsyncSession, response: QuestionnaireResponse) -> dict[str, Answer]:
    """The response's answers: the first time, as read with the patient when they were (no query; see
    `onboarding.update_and_patient`); otherwise, and from then on, from the database."""
    read_with_patient = inspect(response).attrs.answers.loaded_value
    if read_with_patient is NO_VALUE:
        return await _answer_rows(session, response.id)
    session.expire(response, ["answers"])  # the answers change from here on: a later look asks the database
    return {row.item_id: row for row in read_with_patient}


def _values(rows: dict[str, Answer]) -> dict[str, Any]:
    return {item_id: row.value for item_id, row in rows.items()}


async def in_progress(session: AsyncSession, *, patient: Patient) -> QuestionnaireResponse | None:
    return await session.scalar(
        select(QuestionnaireResponse).where(
            QuestionnaireResponse.patient_id == patient.id,
            QuestionnaireResponse.status == ResponseStatus.IN_PROGRESS,
        )
    )


async def _view(
    session: AsyncSession, patient: Patient, response: QuestionnaireResponse, answers: dict[str, Any]
) -> AskItem | Summary:
    """What to show for the response's current item (or the summary), from answers already loaded."""
    items = visible_items(response.form, answers, patient.group)
    if response.current_item is None:
        shown = [(item, answers[item.id]) for item in items if item.id in answers]
        return Summary(response.id, response.form, shown, response.message_id)
    item = FORM_ITEMS[response.form][response.current_item]
    number = next((index for index, shown in enumerate(items, start=1) if shown.id == item.id), 1)
    selected = tuple(answers.get(item.id) or ()) if item.kind is Kind.MULTI else ()
    repeatable = bool(await last_answers(session, patient=patient, item_ids=item.same_as_last))
    return AskItem(
        response.id, item, number, len(items), selected, message_id=response.message_id, same_as_last=repeatable
    )


async def current_step(
    session: AsyncSession, *, patient: Patient, response: QuestionnaireResponse
) -> AskItem | Summary:
    return await _view(session, patient, response, _values(await _answers_so_far(session, response)))


async def open_checkin(session: AsyncSession, *, patient: Patient, now: datetime) -> ScheduledContact | None:
    """The check-in the patient may answer now: due, and its window not yet closed."""
    return await session.scalar(
        select(ScheduledContact)
        .where(
            ScheduledContact.patient_id == patient.id,
            ScheduledContact.kind == ContactKind.CHECKIN,
            ScheduledContact.status.in_((ContactStatus.PLANNED, ContactStatus.OPEN)),
            ScheduledContact.due_at <= now,
            ScheduledContact.window_end > now,
        )
        .order_by(ScheduledContact.due_at)
        .limit(1)
    )


async def next_checkin_due(session: AsyncSession, *, patient: Patient, now: datetime) -> datetime | None:
    return await session.scalar(
        select(ScheduledContact.due_at)
        .where(
            ScheduledContact.patient_id == patient.id,
            ScheduledContact.kind == ContactKind.CHECKIN,
            ScheduledContact.status == ContactStatus.PLANNED,
            ScheduledContact.due_at > now,
        )
        .order_by(ScheduledContact.due_at)
        .limit(1)
    )


async def start(session: AsyncSession, *, patient: Patient, form: FormKind, now: datetime) -> Step:
    """Open (or resume) a check-in or a symptom report."""
    response = await in_progress(session, patient=patient)
    if response is not None and response.form is form:
        return await current_step(session, patient=patient, response=response)
    contact = None
    if form is FormKind.CHECKIN:
        contact = await open_checkin(session, patient=patient, now=now)
        if contact is None:
            return NothingDue(await next_checkin_due(session, patient=patient, now=now))
    if response is not None:  # the other form was left unfinished: keep its answers, close it
        response.status = ResponseStatus.ABANDONED
        await session.flush()
    response = QuestionnaireResponse(
        patient_id=patient.id,
        contact_id=contact.id if contact else None,
        form=form,
        status=ResponseStatus.IN_PROGRESS,
        current_item=FORMS[form][0].id,
        started_at=now,
    )
    session.add(response)
    await session.commit()
    return await _view(session, patient, response, {})


async def _response(session: AsyncSession, *, patient: Patient, response_id: int) -> QuestionnaireResponse | None:
    """The patient's response in progress with this id: the one read with the patient when it is that one
    (`onboarding.patient_for_chat`), else from the session or the database."""
    read = inspect(patient).attrs.questionnaire_in_progress.loaded_value
    if isinstance(read, QuestionnaireResponse) and read.id == response_id:
        response: QuestionnaireResponse | None = read
    else:
        response = await session.get(QuestionnaireResponse, response_id)
    if response is None or response.patient_id != patient.id or response.status is not ResponseStatus.IN_PROGRESS:
        return None
    return response


_NEW_ANSWER = insert(Answer)
_MOVE = (
    update(QuestionnaireResponse)
    .where(QuestionnaireResponse.id == bindparam("response_id"))
    .values(current_item=bindparam("next_item"), editing=bindparam("editing_it"))
)


async def _store(
    session: AsyncSession,
    rows: dict[str, Answer],
    response: QuestionnaireResponse,
    item: Item,
    value: Any,
    now: datetime,
    typed: str | None = None,
) -> None:
    """Keep the answer to `item` in the transaction and in `rows`, with what the patient typed for it (None for a
    tapped answer). A new answer is one INSERT, sent at once (`rows` holds it as a plain Answer, outside the
    session); an earlier answer is changed in place (the unit of work updates it at the commit)."""
    existing = rows.get(item.id)
    if existing is None:
        values = {"response_id": response.id, "item_id": item.id, "value": value, "answered_at": now, "typed": typed}
        await (await session.connection()).execute(_NEW_ANSWER, values)
        rows[item.id] = Answer(**values)
    else:
        existing.value, existing.answered_at, existing.typed = value, now, typed


async def _move(session: AsyncSession, response: QuestionnaireResponse, item_id: str | None, *, editing: bool) -> None:
    """The response's current item from now on (None: the summary), and whether it is one answer being changed
    from the summary: one UPDATE, sent at once; the response in hand shows it too."""
    await (await session.connection()).execute(
        _MOVE, {"response_id": response.id, "next_item": item_id, "editing_it": editing}
    )
    set_committed_value(response, "current_item", item_id)
    set_committed_value(response, "editing", editing)


async def _commit_answer(
    session: AsyncSession,
    *,
    patient: Patient,
    response: QuestionnaireResponse,
    rows: dict[str, Answer],
    protocol: StudyProtocol,
    now: datetime,
) -> None:
    """Commit a stored answer, with the alarm it raises if the answers so far are already urgent."""
    await alarm_on_answer(
        session, patient=patient, response=response, answers=_values(rows), protocol=protocol, now=now
    )
    await session.commit()


async def _advance(
    session: AsyncSession,
    *,
    patient: Patient,
    response: QuestionnaireResponse,
    rows: dict[str, Answer],
    protocol: StudyProtocol,
    now: datetime,
) -> AskItem | Summary:
    """Record the current item as answered, move to the next unanswered one (or, when editing, back to the
    summary) and commit (with the alarm, see `alarm_on_answer`)."""
    answered = FORM_ITEMS[response.form][response.current_item] if response.current_item else None
    answers = _values(rows)
    items = visible_items(response.form, answers, patient.group)
    if response.editing:
        following = next((item.id for item in items if item.id not in answers), None)
    else:
        ids = [item.id for item in items]
        position = ids.index(response.current_item) if response.current_item in ids else -1
        following = next((item.id for item in items[position + 1 :] if item.id not in answers), None)
    await _move(session, response, following, editing=response.editing and following is not None)
    await _commit_answer(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
    step = await _view(session, patient, response, answers)
    if isinstance(step, AskItem) and answered is not None:
        return replace(step, recorded=(answered, answers.get(answered.id)))
    return step


async def choose(
    session: AsyncSession,
    *,
    patient: Patient,
    response_id: int,
    item_id: str,
    code: str,
    protocol: StudyProtocol,
    now: datetime,
) -> AskItem | Summary | None:
    """A tapped option. For multi-select items the code toggles; "done" moves on. Stale taps return None."""
    response = await _response(session, patient=patient, response_id=response_id)
    if response is None or response.current_item != item_id:
        return None
    item = FORM_ITEMS[response.form][item_id]
    rows = await _answers_so_far(session, response)
    if code == "same" and item.same_as_last:
        return await _same_as_last(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
    if item.kind is Kind.MULTI:
        selected = list(rows[item_id].value or []) if item_id in rows else []
        if code == "done":
            if not selected:
                shown = await _view(session, patient, response, _values(rows))
                assert isinstance(shown, AskItem)
                return replace(shown, problem=N_("Please tap at least one answer, or “None of these”."))
            return await _advance(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
        if code not in item.options:
            return None
        if code == "none":  # exclusive, so it also finishes the item: one tap
            await _store(session, rows, response, item, ["none"], now)
            return await _advance(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
        selected = [chosen for chosen in selected if chosen not in (code, "none")] + (
            [] if code in selected else [code]
        )
        await _store(session, rows, response, item, sorted(selected, key=item.options.index), now)
        await _commit_answer(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
        return await _view(session, patient, response, _values(rows))
    if code == "skip" and item.optional:
        await _store(session, rows, response, item, None, now)
        return await _advance(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
    value = _tapped_value(item, code)
    if value is None:
        return None
    await _store(session, rows, response, item, value, now)
    return await _advance(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)


def _tapped_value(item: Item, code: str) -> Any:
    """The value a single-choice button stands for (a number, a dose as tablets, a code); None: not a choice."""
    if code not in item.choices():
        return None
    if item.kind is Kind.NUMBER:
        return float(code)
    if item.kind is Kind.DOSE:
        return f"{float(code):g} tablets"
    return code


async def alarm_for_held_answer(
    session: AsyncSession,
    *,
    patient: Patient,
    response: QuestionnaireResponse,
    code: str | None = None,
    text: str | None = None,
    protocol: StudyProtocol,
    now: datetime,
) -> None:
    """Consent to a new version is pending, so an answer to the check-in in progress (a tapped `code` or a
    typed `text` for its current item) is not kept. If it means danger with the answers given so far, the
    advice and the alert go out all the same: the red-flag path never waits for paperwork. Commits."""
    if response.current_item is None:
        return
    item = FORM_ITEMS[response.form][response.current_item]
    answers = _values(await _answers_so_far(session, response))
    value: Any = None
    if text is not None and item.kind in TYPED_KINDS:
        try:
            value = parse_typed(item, text)
        except Invalid:
            return
    elif code is not None and item.kind is Kind.MULTI:
        value = [*(answers.get(item.id) or []), code] if code in item.options else None
    elif code is not None:
        value = _tapped_value(item, code)
    if value is None:
        return
    answers[item.id] = value
    await alarm_on_answer(session, patient=patient, response=response, answers=answers, protocol=protocol, now=now)
    await session.commit()


async def type_answer(
    session: AsyncSession, *, patient: Patient, text: str, protocol: StudyProtocol, now: datetime
) -> AskItem | Summary | None:
    """Typed text for the current item. A refusal returns the item with the problem; None: nothing asked."""
    response = await in_progress(session, patient=patient)
    if response is None or response.current_item is None:
        return None
    item = FORM_ITEMS[response.form][response.current_item]
    rows = await _answers_so_far(session, response)
    shown = await _view(session, patient, response, _values(rows))
    assert isinstance(shown, AskItem)
    if item.kind not in TYPED_KINDS:
        return replace(shown, problem=N_("Please tap one of the buttons."))
    try:
        value = parse_typed(item, text)
    except Invalid as refused:
        return replace(shown, selected=(), problem=str(refused))
    await _store(session, rows, response, item, value, now, typed=text[:200])
    return await _advance(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)


async def back(session: AsyncSession, *, patient: Patient, response_id: int) -> AskItem | Summary | None:
    response = await _response(session, patient=patient, response_id=response_id)
    if response is None:
        return None
    answers = _values(await _answers_so_far(session, response))
    ids = [item.id for item in visible_items(response.form, answers, patient.group)]
    position = ids.index(response.current_item) if response.current_item in ids else len(ids)
    await _move(session, response, ids[max(position - 1, 0)], editing=False)
    await session.commit()
    return await _view(session, patient, response, answers)


async def edit(session: AsyncSession, *, patient: Patient, response_id: int, item_id: str) -> AskItem | None:
    """From the summary, change one answer; then the summary comes back."""
    response = await _response(session, patient=patient, response_id=response_id)
    if (
        response is None
        or response.current_item is not None
        or item_id not in {item.id for item in FORMS[response.form]}
    ):
        return None
    answers = _values(await _answers_so_far(session, response))
    await _move(session, response, item_id, editing=True)
    await session.commit()
    step = await _view(session, patient, response, answers)
    assert isinstance(step, AskItem)
    return step


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


async def submit(
    session: AsyncSession, *, patient: Patient, response_id: int, protocol: StudyProtocol, now: datetime
) -> Submitted | None:
    """Store the answers for good, triage them and raise the alarm for what may be dangerous.

    Every answer set is triaged: a check-in finished after its window closed is kept and flagged `late` (it
    does not count as on time), never refused. None for a second tap on Submit."""
    response = await _response(session, patient=patient, response_id=response_id)
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
    answers = _values(await _answers_so_far(session, response))
    shown = {item.id for item in visible_items(response.form, answers, patient.group)}
    await session.execute(delete(Answer).where(Answer.response_id == response.id, Answer.item_id.not_in(shown)))
    kept = {key: value for key, value in answers.items() if key in shown and value is not None}
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
    trigger = Trigger(result.level, result.reasons, response_id=response.id, in_hospital=_in_hospital(kept))
    if await raise_alarm(session, patient=patient, trigger=trigger, protocol=protocol, now=now) is not None:
        await send_thanks_after_alarm(session, patient=patient, protocol=protocol, source=trigger.source, now=now)
    await session.commit()
    return Submitted(response.form, result, late=late)


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
    kept = {key: value for key, value in answers.items() if key in shown and value is not None}
    for item_id, follow_ups in DECIDED_BY.items():  # "in hospital": not an alarm until we know why
        if any(follow_up in shown and follow_up not in answers for follow_up in follow_ups):
            kept.pop(item_id, None)
    result = await triage_response(
        session, patient=patient, response=response, answers=kept, protocol=protocol, now=now
    )
    if result.level is TriageLevel.URGENT:
        trigger = Trigger(result.level, result.reasons, response_id=response.id, in_hospital=_in_hospital(kept))
        await raise_alarm(session, patient=patient, trigger=trigger, protocol=protocol, now=now)


def _in_hospital(answers: dict[str, Any]) -> bool:
    """The patient is in hospital now: the advice says to tell the ward's doctors, not to go to an emergency room."""
    return answers.get("in_hospital_now") == "yes"


async def _same_as_last(
    session: AsyncSession,
    *,
    patient: Patient,
    response: QuestionnaireResponse,
    rows: dict[str, Answer],
    protocol: StudyProtocol,
    now: datetime,
) -> AskItem | Summary | None:
    """One tap: the current item's answers (the steroid and its amount, or the medicines) copied from the
    patient's last submitted check-in. None (a stale tap) when there is nothing to copy."""
    item = FORM_ITEMS[response.form][response.current_item or ""]
    earlier = await last_answers(session, patient=patient, item_ids=item.same_as_last)
    if item.id not in earlier:
        return None
    for item_id in item.same_as_last:
        if item_id in earlier:
            await _store(session, rows, response, FORM_ITEMS[response.form][item_id], earlier[item_id], now)
    if response.editing:
        return await _advance(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
    answers = _values(rows)
    ids = [shown.id for shown in visible_items(response.form, answers, patient.group)]
    position = ids.index(item.id)
    following = next((item_id for item_id in ids[position + 1 :] if item_id not in answers), None)
    await _move(session, response, following, editing=False)
    await _commit_answer(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
    step = await _view(session, patient, response, answers)
    return replace(step, recorded=(item, answers[item.id])) if isinstance(step, AskItem) else step


async def last_answers(session: AsyncSession, *, patient: Patient, item_ids: tuple[str, ...]) -> dict[str, Any]:
    """The answers to `item_ids` in the patient's last submitted check-in that has the first of them."""
    if not item_ids:
        return {}
    latest = await session.scalar(
        select(QuestionnaireResponse.id)
        .join(Answer, Answer.response_id == QuestionnaireResponse.id)
        .where(
            QuestionnaireResponse.patient_id == patient.id,
            QuestionnaireResponse.form == FormKind.CHECKIN,
            QuestionnaireResponse.status == ResponseStatus.SUBMITTED,
            Answer.item_id == item_ids[0],
        )
        .order_by(QuestionnaireResponse.submitted_at.desc(), QuestionnaireResponse.id.desc())
        .limit(1)
    )
    if latest is None:
        return {}
    rows = await _answer_rows(session, latest)
    return {item_id: rows[item_id].value for item_id in item_ids if item_id in rows}


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
        answers = _values(await _answers_so_far(session, response))
        shown = {item.id for item in visible_items(response.form, answers, patient.group)}
        kept = {key: value for key, value in answers.items() if key in shown and value is not None}
        result = await triage_response(
            session, patient=patient, response=response, answers=kept, protocol=protocol, now=now
        )
        if result.level in ESCALATING:
            await _finish(session, patient=patient, response=response, protocol=protocol, now=now, partial=True)
            submitted += 1
    return submitted


async def remember_message(session: AsyncSession, *, patient: Patient, response_id: int, message_id: int) -> None:
    """Keep the id of the message that shows the current item, to retire its keyboard when it is answered."""
    response = await _response(session, patient=patient, response_id=response_id)
    if response is not None:
        response.message_id = message_id
        await session.commit()
