"""The outbox sends through a Bot of its own: when Telegram is slow to take its messages, a patient's tap still
gets its Bot API calls at once (the outbox's sends once held every connection of the bot's pool, and a tap
waited behind them until it failed)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import outbox_bot
from bot.clock import FakeClock
from bot.db import session_factory
from bot.delivery.dispatcher import Dispatcher
from bot.protocol import StudyProtocol
from bot.simulator.harness import Harness
from models import FailedUpdate
from tests.bot_fixtures import FakeSleep, dispatcher
from tests.test_outbox import queue
from tests.test_patient_bot import CHAT, start_checkin_in_english

STALLED_SENDS = 40


async def test_a_tap_goes_through_while_the_outbox_waits_for_a_slow_telegram(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    await start_checkin_in_english(bot, engine, protocol, clock)
    await queue(engine, clock, [(chat, f"reminder {chat}") for chat in range(1, STALLED_SENDS + 1)])
    bot.stub.stall("sendMessage", times=STALLED_SENDS)  # each waits for the client's read timeout
    async with outbox_bot(bot.application.bot_data["deps"].settings) as sending:
        outbox = dispatcher(  # as bot.app builds it for `followup run`: many sends at once
            engine, sending, clock, FakeSleep(clock), concurrency=Dispatcher.concurrency
        )
        sent_before = len(await bot.stub.wait_for_calls("sendMessage"))
        draining = asyncio.create_task(outbox.drain_once())
        async with asyncio.timeout(10):  # every send the outbox makes at once is waiting for Telegram
            await bot.stub.wait_for_calls("sendMessage", sent_before + Dispatcher.concurrency)
        before = len(bot.stub.calls)
        async with asyncio.timeout(2):  # well under the read timeout the stalled sends wait for
            await bot.tap(CHAT, "No")  # fever: no
        draining.cancel()
    assert "✔ Fever: No" in bot.last_text(CHAT)
    tap_calls = [call.method for call in bot.stub.calls[before:] if call.method != "sendMessage"]
    assert sorted(tap_calls) == ["answerCallbackQuery", "editMessageText"]
    async with session_factory(engine)() as session:
        assert (await session.scalars(select(FailedUpdate))).all() == []
