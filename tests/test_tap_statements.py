"""A check-in tap asks the database only what it needs: four statements and one commit, through the real bot."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.protocol import StudyProtocol
from bot.simulator.harness import Harness
from tests.test_patient_bot import CHAT, start_checkin_in_english

TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)")


@contextmanager
def sent_to(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements (verb and first table) and commits the engine sends inside the block."""
    sent: list[str] = []

    def statement(_conn: object, _cursor: object, text: str, *_args: object) -> None:
        found = TABLE.search(text)
        sent.append(f"{text.split()[0]} {found.group(1) if found else ''}")

    def commit(_conn: object) -> None:
        sent.append("COMMIT")

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    event.listen(engine.sync_engine, "commit", commit)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statement)
        event.remove(engine.sync_engine, "commit", commit)


async def test_it_answers_a_tap_with_four_statements_and_one_commit(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    await start_checkin_in_english(bot, engine, protocol, clock)
    with sent_to(engine) as sent:
        await bot.tap(CHAT, "No")  # fever: no
    assert "✔ Fever: No" in bot.last_text(CHAT)
    assert sorted(sent) == sorted(
        [
            "SELECT processed_updates",  # is the update new; the patient, the questionnaire in progress, its answers
            "INSERT answers",  # the answer
            "UPDATE questionnaire_responses",  # the next item
            "INSERT processed_updates",  # the update's mark, in the same transaction
            "COMMIT",
        ]
    )
