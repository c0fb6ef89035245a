"""The questionnaire engine: one item at a time, progress in the database, then a summary (its Submit, and
the submission of what is left unfinished: `checkin_submission`).

Every step returns a view (what to show next) and never a Telegram object. Stale taps (an old keyboard, a
double tap) return None: the caller ignores them, so nothing is answered twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.forms import (
    FORM_ITEMS,
    FORMS,
    TYPED_KINDS,
    Invalid,
    Item,
    Kind,
    parse_typed,
    visible_items,
)
from bot.i18n import N_
from bot.protocol import StudyProtocol
from bot.services.checkin_answers import answer_rows, answer_values, answers_so_far, move_to, store_answer
from bot.services.checkin_triage import alarm_on_answer
from models import (
    Answer,
    ContactKind,
    ContactStatus,
    FormKind,
    Patient,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
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
class NothingDue:
    next_due: datetime | None


Step = AskItem | Summary | NothingDue


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
    return await _view(session, patient, response, answer_values(await answers_so_far(session, response)))


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


async def response_in_progress(
    session: AsyncSession, *, patient: Patient, response_id: int
) -> QuestionnaireResponse | None:
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
        session, patient=patient, response=response, answers=answer_values(rows), protocol=protocol, now=now
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
    answers = answer_values(rows)
    items = visible_items(response.form, answers, patient.group)
    if response.editing:
        following = next((item.id for item in items if item.id not in answers), None)
    else:
        ids = [item.id for item in items]
        position = ids.index(response.current_item) if response.current_item in ids else -1
        following = next((item.id for item in items[position + 1 :] if item.id not in answers), None)
    await move_to(session, response, following, editing=response.editing and following is not None)
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
    response = await response_in_progress(session, patient=patient, response_id=response_id)
    if response is None or response.current_item != item_id:
        return None
    item = FORM_ITEMS[response.form][item_id]
    rows = await answers_so_far(session, response)
    if code == "same" and item.same_as_last:
        return await _same_as_last(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
    if item.kind is Kind.MULTI:
        selected = list(rows[item_id].value or []) if item_id in rows else []
        if code == "done":
            if not selected:
                shown = await _view(session, patient, response, answer_values(rows))
                assert isinstance(shown, AskItem)
                return replace(shown, problem=N_("Please tap at least one answer, or “None of these”."))
            return await _advance(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
        if code not in item.options:
            return None
        if code == "none":  # exclusive, so it also finishes the item: one tap
            await store_answer(session, rows, response, item, ["none"], now)
            return await _advance(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
        selected = [chosen for chosen in selected if chosen not in (code, "none")] + (
            [] if code in selected else [code]
        )
        await store_answer(session, rows, response, item, sorted(selected, key=item.options.index), now)
        await _commit_answer(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
        return await _view(session, patient, response, answer_values(rows))
    if code == "skip" and item.optional:
        await store_answer(session, rows, response, item, None, now)
        return await _advance(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
    value = _tapped_value(item, code)
    if value is None:
        return None
    await store_answer(session, rows, response, item, value, now)
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
    answers = answer_values(await answers_so_far(session, response))
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
    rows = await answers_so_far(session, response)
    shown = await _view(session, patient, response, answer_values(rows))
    assert isinstance(shown, AskItem)
    if item.kind not in TYPED_KINDS:
        return replace(shown, problem=N_("Please tap one of the buttons."))
    try:
        value = parse_typed(item, text)
    except Invalid as refused:
        return replace(shown, selected=(), problem=str(refused))
    await store_answer(session, rows, response, item, value, now, typed=text[:200])
    return await _advance(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)


async def back(session: AsyncSession, *, patient: Patient, response_id: int) -> AskItem | Summary | None:
    response = await response_in_progress(session, patient=patient, response_id=response_id)
    if response is None:
        return None
    answers = answer_values(await answers_so_far(session, response))
    ids = [item.id for item in visible_items(response.form, answers, patient.group)]
    position = ids.index(response.current_item) if response.current_item in ids else len(ids)
    await move_to(session, response, ids[max(position - 1, 0)], editing=False)
    await session.commit()
    return await _view(session, patient, response, answers)


async def edit(session: AsyncSession, *, patient: Patient, response_id: int, item_id: str) -> AskItem | None:
    """From the summary, change one answer; then the summary comes back."""
    response = await response_in_progress(session, patient=patient, response_id=response_id)
    if (
        response is None
        or response.current_item is not None
        or item_id not in {item.id for item in FORMS[response.form]}
    ):
        return None
    answers = answer_values(await answers_so_far(session, response))
    await move_to(session, response, item_id, editing=True)
    await session.commit()
    step = await _view(session, patient, response, answers)
    assert isinstance(step, AskItem)
    return step


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
            await store_answer(session, rows, response, FORM_ITEMS[response.form][item_id], earlier[item_id], now)
    if response.editing:
        return await _advance(session, patient=patient, response=response, rows=rows, protocol=protocol, now=now)
    answers = answer_values(rows)
    ids = [shown.id for shown in visible_items(response.form, answers, patient.group)]
    position = ids.index(item.id)
    following = next((item_id for item_id in ids[position + 1 :] if item_id not in answers), None)
    await move_to(session, response, following, editing=False)
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
    rows = await answer_rows(session, latest)
    return {item_id: rows[item_id].value for item_id in item_ids if item_id in rows}


async def remember_message(session: AsyncSession, *, patient: Patient, response_id: int, message_id: int) -> None:
    """Keep the id of the message that shows the current item, to retire its keyboard when it is answered."""
    response = await response_in_progress(session, patient=patient, response_id=response_id)
    if response is not None:
        response.message_id = message_id
        await session.commit()
