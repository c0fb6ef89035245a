"""The answers of a questionnaire in progress: read (with the patient, where they were), stored as they come,
and the response moved to its next item. Each write is one statement sent at once, not the unit of work's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import NO_VALUE
from sqlalchemy.orm.attributes import set_committed_value

from bot.forms import Item
from models import Answer, QuestionnaireResponse

_ANSWERS = select(Answer).where(Answer.response_id == bindparam("response_id"))


async def answer_rows(session: AsyncSession, response_id: int) -> dict[str, Answer]:
    """A response's answers, by item, from the database."""
    rows = await session.scalars(_ANSWERS, {"response_id": response_id})
    return {row.item_id: row for row in rows}


async def answers_so_far(session: AsyncSession, response: QuestionnaireResponse) -> dict[str, Answer]:
    """The response's answers: the first time, as read with the patient when they were (no query; see
    `onboarding.update_and_patient`); otherwise, and from then on, from the database."""
    read_with_patient = inspect(response).attrs.answers.loaded_value
    if read_with_patient is NO_VALUE:
        return await answer_rows(session, response.id)
    session.expire(response, ["answers"])  # the answers change from here on: a later look asks the database
    return {row.item_id: row for row in read_with_patient}


def answer_values(rows: dict[str, Answer]) -> dict[str, Any]:
    """The answers' values, by item."""
    return {item_id: row.value for item_id, row in rows.items()}


_NEW_ANSWER = insert(Answer)
_MOVE = (
    update(QuestionnaireResponse)
    .where(QuestionnaireResponse.id == bindparam("response_id"))
    .values(current_item=bindparam("next_item"), editing=bindparam("editing_it"))
)


async def store_answer(
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


async def move_to(
    session: AsyncSession, response: QuestionnaireResponse, item_id: str | None, *, editing: bool
) -> None:
    """The response's current item from now on (None: the summary), and whether it is one answer being changed
    from the summary: one UPDATE, sent at once; the response in hand shows it too."""
    await (await session.connection()).execute(
        _MOVE, {"response_id": response.id, "next_item": item_id, "editing_it": editing}
    )
    set_committed_value(response, "current_item", item_id)
    set_committed_value(response, "editing", editing)
