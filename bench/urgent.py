"""(e) Urgent latency: from an urgent Submit to the advice at the patient and the alert at the clinician, with
10,000 bulk reminders draining at the configured rate, next to the same with an empty outbox, in one run.

The resident dispatcher of `followup run` (`Dispatcher.serve`: a poll every second, woken at once when this
process commits an URGENT row) sends through python-telegram-bot's HTTP client to the loopback stub with
Telegram's limits switched on. An urgent Submit is modelled as what the submission writes: one transaction with
one URGENT advice row to the patient's chat and one URGENT alert row to a clinician's chat. Arrival is the
moment the stub receives the sendMessage call.

The backlog window is shortened: the submits are measured while the first few hundred of the 10,000 reminders
drain (the rest are still queued when the run stops, and reported), instead of waiting 400 s for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Bot

from bench.databases import fresh
from bot.clock import SystemClock
from bot.db import create_engine, session_factory
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.outbox import enqueue
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import TelegramSender
from bot.simulator.bot_api import BotApiStub
from models import Lane, OutboxMessage, OutboxStatus

PATIENT_CHATS = 1_000_000  # urgent chats, far from the reminders' chats 1..backlog
CLINICIAN_CHATS = 2_000_000
SPACING = 0.5  # seconds between two submits (distinct patients and clinicians: no per-chat wait)


class Arrivals:
    """When (perf_counter) the stub first received a message for each chat, noted as each call arrives."""

    def __init__(self, stub: BotApiStub) -> None:
        self.stub = stub
        self.at: dict[int, float] = {}
        self._seen = 0
        self._changed = asyncio.Condition()

    async def watch(self) -> None:
        while True:
            calls = await self.stub.wait_for_calls("sendMessage", self._seen + 1)
            now = time.perf_counter()
            for call in calls[self._seen :]:
                chat = call.params.get("chat_id")
                if isinstance(chat, int):
                    self.at.setdefault(chat, now)
            self._seen = len(calls)
            async with self._changed:
                self._changed.notify_all()

    async def arrived(self, *chats: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: all(chat in self.at for chat in chats))


async def submit(sessions: async_sessionmaker[AsyncSession], number: int) -> float:
    """One urgent Submit: the advice and the alert in one transaction. Returns when it started."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    async with sessions() as session:
        await enqueue(
            session,
            dedupe_key=f"bench:advice:{number}",
            chat_id=PATIENT_CHATS + number,
            payload={"text": "🚨 Please call 120 or your study team now."},
            now=now,
            lane=Lane.URGENT,
        )
        await enqueue(
            session,
            dedupe_key=f"bench:alert:{number}",
            chat_id=CLINICIAN_CHATS + number,
            payload={"text": "URGENT S001: temperature 40.2 °C, short of breath"},
            now=now,
            lane=Lane.URGENT,
        )
        await session.commit()
    return started


async def queue_backlog(engine: AsyncEngine, reminders: int) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        await connection.execute(
            insert(OutboxMessage),
            [
                {
                    "dedupe_key": f"bench:reminder:{chat}",
                    "chat_id": chat,
                    "method": "sendMessage",
                    "payload": {"text": "💉 Today is an IL-2 day"},
                    "status": OutboxStatus.PENDING,
                    "lane": int(Lane.BULK),
                    "not_before": now,
                    "attempts": 0,
                    "created_at": now,
                }
                for chat in range(1, reminders + 1)
            ],
        )


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1), "p99_ms": round(p99 * 1000, 1)}


async def phase(
    sessions: async_sessionmaker[AsyncSession], arrivals: Arrivals, first: int, submits: int
) -> dict[str, dict[str, float]]:
    advice, alert = [], []
    for number in range(first, first + submits):
        started = await submit(sessions, number)
        await asyncio.wait_for(arrivals.arrived(PATIENT_CHATS + number, CLINICIAN_CHATS + number), 10)
        advice.append(arrivals.at[PATIENT_CHATS + number] - started)
        alert.append(arrivals.at[CLINICIAN_CHATS + number] - started)
        await asyncio.sleep(SPACING)
    return {"advice": percentiles(advice), "alert": percentiles(alert)}


async def pending(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
        )
    return int(count or 0)


async def measure(reminders: int, rate: float, submits: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        fresh(url)
        engine = create_engine(url, durable=False)
        sessions = session_factory(engine)
        async with BotApiStub() as stub:
            stub.enforce_limits(per_second=30, per_chat_per_second=1)
            arrivals = Arrivals(stub)
            watcher = asyncio.create_task(arrivals.watch())
            async with Bot(stub.token, base_url=stub.base_url) as bot:
                clock = SystemClock()
                dispatcher = Dispatcher(
                    sessions=sessions,
                    sender=TelegramSender(bot),
                    clock=clock,
                    limiter=RateLimiter(clock=clock, per_second=rate),
                )
                serving = asyncio.create_task(dispatcher.serve(interval=1.0))
                empty = await phase(sessions, arrivals, 0, submits)
                await queue_backlog(engine, reminders)
                await arrivals.arrived(1, 2, 3)  # the regular poll found the backlog: it is draining
                loaded = await phase(sessions, arrivals, submits, submits)
                left = await pending(engine)
                serving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await serving
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            limited = stub.rate_limited
        await engine.dispose()
    return {
        "submits_per_phase": submits,
        "backlog": reminders,
        "backlog_left_at_the_end": left,
        "empty_queue": empty,
        "with_backlog": loaded,
        "p99_ratio": {kind: round(loaded[kind]["p99_ms"] / empty[kind]["p99_ms"], 2) for kind in ("advice", "alert")},
        "429s": limited,
    }


def run(reminders: int, rate: float, submits: int = 40) -> dict[str, object]:
    return asyncio.run(measure(reminders, rate, submits))
