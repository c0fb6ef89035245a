"""(b) Outbox dispatch rate for reminders to distinct chats, against a stub that enforces Telegram's limits.

Reported as a ratio of the configured global rate (target >= 0.95) together with the 429s received (target 0).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert
from telegram import Bot

from bot.clock import SystemClock
from bot.db import create_engine, session_factory, upgrade_database
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import TelegramSender
from bot.simulator.bot_api import BotApiStub
from models import OutboxMessage, OutboxStatus


async def measure(messages: int, rate: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade_database(url)
        engine = create_engine(url)
        now = datetime.now(UTC)
        async with engine.begin() as connection:
            await connection.execute(
                insert(OutboxMessage),
                [
                    {
                        "dedupe_key": f"bench:{chat}",
                        "chat_id": chat,
                        "method": "sendMessage",
                        "payload": {"text": "💉 Today is an IL-2 day"},
                        "status": OutboxStatus.PENDING,
                        "not_before": now,
                        "attempts": 0,
                        "created_at": now,
                    }
                    for chat in range(1, messages + 1)
                ],
            )
        async with BotApiStub() as stub:
            stub.enforce_limits(per_second=30, per_chat_per_second=1)
            async with Bot(stub.token, base_url=stub.base_url) as bot:
                clock = SystemClock()
                dispatcher = Dispatcher(
                    sessions=session_factory(engine),
                    sender=TelegramSender(bot),
                    clock=clock,
                    limiter=RateLimiter(clock=clock, per_second=rate),
                )
                started = time.perf_counter()
                await dispatcher.drain()
                elapsed = time.perf_counter() - started
            delivered = len(stub.messages)
            limited = stub.rate_limited
        await engine.dispose()
    achieved = delivered / elapsed
    return {
        "messages": messages,
        "delivered": delivered,
        "seconds": elapsed,
        "rate": achieved,
        "configured": rate,
        "ratio": achieved / rate,
        "429s": limited,
    }


def run(messages: int, rate: float) -> dict[str, float]:
    return asyncio.run(measure(messages, rate))
