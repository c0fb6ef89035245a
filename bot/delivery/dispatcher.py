"""The dispatcher: claims due outbox rows, sends them within Telegram's limits, records every attempt."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.delivery.outbox import claim_due
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import Delivered, Outcome, Permanent, Retry, Sender
from bot.services.reachability import mark_unreachable
from models import OutboxMessage, OutboxStatus, Patient

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
MAX_ATTEMPTS = 50
MAX_BACKOFF = timedelta(minutes=5)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Exponential with full jitter: about 2, 4, 8 … seconds, never more than five minutes."""
    ceiling = min(2.0**attempts, MAX_BACKOFF.total_seconds())
    return timedelta(seconds=ceiling * (0.5 + rng.random() / 2))


def round_robin(messages: list[OutboxMessage]) -> list[OutboxMessage]:
    """One message per chat in turn, so a chat's one-a-second spacing never holds up the other chats."""
    turn: dict[int, int] = {}
    ranked = []
    for position, message in enumerate(messages):
        turn[message.chat_id] = turn.get(message.chat_id, -1) + 1
        ranked.append((turn[message.chat_id], position, message))
    return [message for _turn, _position, message in sorted(ranked, key=lambda item: item[:2])]


@dataclass
class Dispatcher:
    sessions: async_sessionmaker[AsyncSession]
    sender: Sender
    clock: Clock
    limiter: RateLimiter
    sleep: Sleep = asyncio.sleep
    batch: int = 100
    concurrency: int = 16
    lease: timedelta = timedelta(minutes=2)
    worker: str = field(default_factory=worker_name)
    rng: random.Random = field(default_factory=random.Random)

    async def drain_once(self) -> int:
        """Claim one batch of due messages and send it. Returns how many rows were handled."""
        async with self.sessions() as session:
            claimed = await claim_due(
                session, worker=self.worker, now=self.clock.now(), limit=self.batch, lease=self.lease
            )
        if not claimed:
            return 0
        gate = asyncio.Semaphore(self.concurrency)

        async def one(message: OutboxMessage) -> None:
            async with gate:
                await self._deliver(message)

        await asyncio.gather(*(one(message) for message in round_robin(claimed)))
        return len(claimed)

    async def drain(self) -> int:
        """Send everything due now; returns the number of rows handled."""
        total = 0
        while handled := await self.drain_once():
            total += handled
        return total

    async def _deliver(self, message: OutboxMessage) -> None:
        slot = self.limiter.reserve(message.chat_id)
        wait = (slot - self.clock.now()).total_seconds()
        if wait > 0:
            await self.sleep(wait)
        outcome = await self.sender.send(message)
        await self._record(message, outcome)

    async def _record(self, message: OutboxMessage, outcome: Outcome) -> None:
        now = self.clock.now()
        async with self.sessions() as session:
            row = await session.get(OutboxMessage, message.id)
            if row is None or row.claimed_by != self.worker or row.status is not OutboxStatus.SENDING:
                return  # our lease ran out and another dispatcher took it over
            row.claimed_by = None
            if isinstance(outcome, Delivered):
                row.status, row.sent_at, row.telegram_message_id, row.last_error = (
                    OutboxStatus.SENT,
                    now,
                    outcome.message_id,
                    None,
                )
            elif isinstance(outcome, Retry):
                row.last_error = outcome.error
                if outcome.after is not None:
                    self.limiter.pause(outcome.after)
                delay = outcome.after if outcome.after is not None else backoff(row.attempts, self.rng)
                if row.attempts >= MAX_ATTEMPTS and not outcome.rate_limited:
                    row.status, row.last_error = (
                        OutboxStatus.DEAD,
                        f"gave up after {row.attempts} attempts: {outcome.error}",
                    )
                else:
                    row.status, row.not_before = OutboxStatus.PENDING, now + delay
            else:
                await self._dead(session, row, outcome)
            await session.commit()
        if isinstance(outcome, Permanent):
            log.warning("outbox %s dead: %s", message.id, outcome.error.split(":")[0])

    async def _dead(self, session: AsyncSession, row: OutboxMessage, outcome: Permanent) -> None:
        """A permanent error: keep the row with its error; a blocked patient becomes unreachable."""
        row.status, row.last_error = OutboxStatus.DEAD, outcome.error
        if not outcome.blocked or row.patient_id is None:
            return
        patient = await session.get(Patient, row.patient_id)
        if patient is not None:
            await mark_unreachable(session, patient=patient, why=outcome.error, now=self.clock.now())
