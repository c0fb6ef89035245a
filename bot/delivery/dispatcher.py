"""The dispatcher: claims due outbox rows, sends them within Telegram's limits, records every attempt."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import socket
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.delivery.outbox import claim_due, listen_for_urgent, stop_listening
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import Delivered, Outcome, Permanent, Retry, Sender
from bot.logs import log_failure
from bot.services.reachability import mark_unreachable
from models import Lane, OutboxMessage, OutboxStatus, Patient

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
    """Sends what is due, urgent lanes first.

    A batch is about one second of the configured rate, and a send slot is taken only when it has come, one
    message at a time: an URGENT row committed in this process (see `outbox.listen_for_urgent`) wakes the wait,
    is claimed and takes the next free slot ahead of the rest of the batch, so it never waits behind a reminder
    backlog."""

    sessions: async_sessionmaker[AsyncSession]
    sender: Sender
    clock: Clock
    limiter: RateLimiter
    sleep: Sleep = asyncio.sleep
    batch: int | None = None  # None: one second's worth at the limiter's rate
    concurrency: int = 16
    lease: timedelta = timedelta(minutes=2)
    worker: str = field(default_factory=worker_name)
    rng: random.Random = field(default_factory=random.Random)
    urgent_waiting: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def batch_size(self) -> int:
        return self.batch if self.batch is not None else max(1, math.ceil(self.limiter.per_second))

    async def drain_once(self) -> int:
        """Claim one batch of due messages and send it. Returns how many rows were handled."""
        return await self._send(until_empty=False)

    async def drain(self) -> int:
        """Send everything due now, batch after batch; returns the number of rows handled."""
        return await self._send(until_empty=True)

    async def _send(self, *, until_empty: bool) -> int:
        """The next batch is claimed while the last sends of the one before are still in flight, so the rate
        holds across batches."""
        self.urgent_waiting.clear()  # this claim takes the urgent rows first
        queue: deque[OutboxMessage] = deque()
        gate = asyncio.Semaphore(self.concurrency)
        in_flight: set[asyncio.Task[None]] = set()
        handled = 0

        def done(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            gate.release()
            if not task.cancelled() and (error := task.exception()) is not None:
                log_failure("outbox send", error)  # the row stays claimed: handed out again after its lease

        while True:
            if not queue:
                if handled and not until_empty:
                    break
                batch = await self._claim(self.batch_size())
                if not batch:
                    if not in_flight:
                        break
                    await asyncio.wait(set(in_flight))  # what they record may queue more (a coordinator's notice)
                    continue
                queue.extend(round_robin(batch))
            await gate.acquire()
            message, planned = await self._next_to_send(queue)
            await self._take_slot(message, planned)
            task = asyncio.create_task(self._deliver(message))
            task.add_done_callback(done)
            in_flight.add(task)
            handled += 1
        await asyncio.gather(*in_flight, return_exceptions=True)
        return handled

    async def _next_to_send(self, queue: deque[OutboxMessage]) -> tuple[OutboxMessage, datetime]:
        """Wait until the first queued message may go (and say when that was planned); an urgent row committed
        meanwhile goes first instead."""
        while True:
            if self.urgent_waiting.is_set():
                self.urgent_waiting.clear()
                queue.extendleft(reversed(await self._claim(self.batch_size(), lane=Lane.URGENT)))
            planned = self.limiter.next_slot(queue[0].chat_id)
            wait = (planned - self.clock.now()).total_seconds()
            if wait > 0 and await self._pause(wait):
                continue
            return queue.popleft(), planned

    async def _pause(self, seconds: float) -> bool:
        """Sleep, but wake as soon as this process commits an urgent row; True if one was."""
        sleeping = asyncio.ensure_future(self.sleep(seconds))
        woken = asyncio.ensure_future(self.urgent_waiting.wait())
        await asyncio.wait({sleeping, woken}, return_when=asyncio.FIRST_COMPLETED)
        for task in (sleeping, woken):
            task.cancel()
        await asyncio.gather(sleeping, woken, return_exceptions=True)
        return self.urgent_waiting.is_set()

    async def serve(self, *, interval: float) -> None:
        """The resident loop of `followup run`: drain, then wait `interval` seconds or until this process
        commits an URGENT row, whichever comes first. Runs until `stop` (or cancelled)."""
        listen_for_urgent(self.urgent_waiting)
        try:
            while not self.stopping.is_set():
                try:
                    await self.drain()
                except Exception as error:
                    log_failure("job outbox", error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.urgent_waiting.wait(), interval)
        finally:
            stop_listening(self.urgent_waiting)

    def stop(self) -> None:
        """Let `serve` end after the batch in hand (a cancelled database call would be logged by the driver)."""
        self.stopping.set()
        self.urgent_waiting.set()

    async def _claim(self, limit: int, lane: Lane | None = None) -> list[OutboxMessage]:
        async with self.sessions() as session:
            return await claim_due(
                session, worker=self.worker, now=self.clock.now(), limit=limit, lease=self.lease, lane=lane
            )

    async def _take_slot(self, message: OutboxMessage, planned: datetime) -> None:
        slot = self.limiter.reserve(message.chat_id, planned=planned)
        wait = (slot - self.clock.now()).total_seconds()
        if wait > 0:
            await self.sleep(wait)

    async def _deliver(self, message: OutboxMessage) -> None:
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
