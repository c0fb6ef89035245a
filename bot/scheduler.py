"""The named background jobs. The database holds every due date; these jobs only claim what is due.

`followup run` runs them on APScheduler intervals inside the bot's event loop; `followup tick` runs each
once, in order (contacts and escalations before the outbox, so what falls due goes out in the same tick).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.delivery.dispatcher import Dispatcher
from bot.logs import log_failure
from bot.protocol import StudyProtocol
from bot.services.checkin_submission import submit_unfinished
from bot.services.digest import send_digests
from bot.services.escalation import step_escalations
from bot.services.onboarding import apply_default_reminder_times
from bot.services.reminders import process_due_contacts
from models import ProcessedUpdate

log = logging.getLogger(__name__)
BATCH = 500
KEEP_UPDATE_IDS = timedelta(days=7)
STOP_WAIT = timedelta(seconds=10)
OUTBOX_SECONDS = 1.0  # how often the outbox is polled for rows other processes wrote


@dataclass
class Jobs:
    sessions: async_sessionmaker[AsyncSession]
    protocol: StudyProtocol
    clock: Clock
    dispatcher: Dispatcher

    async def onboarding(self) -> int:
        """Apply the default reminder time to patients who consented but did not choose one in time."""
        async with self.sessions() as session:
            return await apply_default_reminder_times(session, protocol=self.protocol, now=self.clock.now())

    async def contacts(self) -> int:
        """Turn every due contact into an outbox message (or close it)."""
        handled = 0
        while True:
            async with self.sessions() as session:
                batch = await process_due_contacts(session, protocol=self.protocol, now=self.clock.now(), limit=BATCH)
            handled += batch
            if batch < BATCH:
                return handled

    async def unfinished(self) -> int:
        """Questionnaires left unfinished with answers that need an alert are submitted as partial."""
        async with self.sessions() as session:
            submitted = await submit_unfinished(session, protocol=self.protocol, now=self.clock.now())
            await session.commit()
            return submitted

    async def escalations(self) -> int:
        """Notify the next people in the chain of every unacknowledged alert whose time has come."""
        async with self.sessions() as session:
            return await step_escalations(session, protocol=self.protocol, now=self.clock.now())

    async def digest(self) -> int:
        """Each site's daily digest, once its hour has passed."""
        async with self.sessions() as session:
            return await send_digests(session, protocol=self.protocol, now=self.clock.now())

    async def outbox(self) -> int:
        """Send what is due in the outbox."""
        return await self.dispatcher.drain()

    async def housekeeping(self) -> int:
        """Forget update ids older than Telegram could ever redeliver."""
        async with self.sessions() as session:
            result = await session.execute(
                delete(ProcessedUpdate).where(ProcessedUpdate.received_at < self.clock.now() - KEEP_UPDATE_IDS)
            )
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    def named(self) -> list[tuple[str, Callable[[], Awaitable[int]]]]:
        """Every job, in the order one tick runs them."""
        return [
            ("onboarding", self.onboarding),
            ("contacts", self.contacts),
            ("unfinished", self.unfinished),
            ("escalations", self.escalations),
            ("digest", self.digest),
            ("outbox", self.outbox),
            ("housekeeping", self.housekeeping),
        ]

    async def tick(self) -> dict[str, int]:
        return {name: await job() for name, job in self.named()}


def _guarded(
    name: str, job: Callable[[], Awaitable[int]], running: set[asyncio.Task[object]]
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        task = asyncio.current_task()
        if task is not None:
            running.add(task)
        try:
            done = await job()
            if done:
                log.info("job %s handled %d", name, done)
        except Exception as error:
            log_failure(f"job {name}", error)
        finally:
            running.discard(task)

    return run


@dataclass
class RunningJobs:
    """The jobs of `followup run`: APScheduler's intervals, and the dispatcher's own loop for the outbox."""

    scheduler: AsyncIOScheduler
    outbox: asyncio.Task[None]
    dispatcher: Dispatcher
    running: set[asyncio.Task[object]]

    async def stop(self) -> None:
        """Start no job; let the ones in progress and the dispatcher's batch finish (a few seconds at most), so
        no database call is cut off mid-way; cancel what is still going after STOP_WAIT."""
        self.scheduler.shutdown(wait=False)
        self.dispatcher.stop()
        pending = [self.outbox, *self.running]
        _done, late = await asyncio.wait(pending, timeout=STOP_WAIT.total_seconds())
        for task in late:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*late, return_exceptions=True)


def start_scheduler(jobs: Jobs, *, tick_seconds: int) -> RunningJobs:
    """Start the jobs in the running event loop: contacts every tick; the outbox every second, and at once when
    this process commits an urgent message (`Dispatcher.serve`)."""
    every = {
        "onboarding": tick_seconds,
        "contacts": tick_seconds,
        "unfinished": tick_seconds,
        "escalations": tick_seconds,
        "digest": 60,
        "housekeeping": 6 * 3600,
    }
    scheduler = AsyncIOScheduler(timezone=UTC)
    running: set[asyncio.Task[object]] = set()
    for name, job in jobs.named():
        if name not in every:
            continue
        scheduler.add_job(
            _guarded(name, job, running),
            "interval",
            seconds=every[name],
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    scheduler.start()
    outbox = asyncio.create_task(jobs.dispatcher.serve(interval=OUTBOX_SECONDS))
    return RunningJobs(scheduler, outbox, jobs.dispatcher, running)
