"""What the patient typed is kept next to the value it was read as ("101.3F" next to 38.5), and the answers
dataset exports both."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.services.codebook import DATASETS
from bot.services.exports import stream_dataset
from bot.simulator.harness import Harness
from models import Answer
from tests.bot_fixtures import enrolled
from tests.test_patient_bot import CHAT, onboard


async def test_it_keeps_what_the_patient_typed_next_to_the_value(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    invite = await enrolled(engine, protocol, clock, language="en")
    await onboard(bot, invite.code, agree="I agree")
    await bot.send(CHAT, "/report")
    await bot.tap(CHAT, "Yes")
    await bot.send(CHAT, "101.3F")
    async with session_factory(engine)() as session:
        answers = {row.item_id: row for row in await session.scalars(select(Answer))}
        columns = [column.name for column in DATASETS["answers"]]
        exported = [dict(zip(columns, row, strict=True)) async for chunk in stream_dataset(
            session, dataset="answers", site_code=None) for row in chunk]  # fmt: skip
    assert (answers["max_temp"].value, answers["max_temp"].typed) == (38.5, "101.3F")
    assert (answers["fever"].value, answers["fever"].typed) == ("yes", None)
    by_item = {row["item_id"]: row for row in exported}
    assert (by_item["max_temp"]["value"], by_item["max_temp"]["typed"]) == ("38.5", "101.3F")
    assert by_item["fever"]["typed"] is None
