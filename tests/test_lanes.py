"""Which lane each kind of message goes in: reminders, nudges, dose reminders and digests are BULK, so urgent
advice and alerts are never queued behind them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.scheduler import Jobs
from models import Lane, OutboxMessage
from tests.escalation_study import PATIENT, Study
from tests.test_reminders import CHAT, consenting_patient, run_until
from tests.test_reminders import jobs as jobs  # the fixture


async def test_it_queues_reminders_nudges_and_dose_reminders_as_bulk(
    engine: AsyncEngine, jobs: Jobs, clock: FakeClock, protocol: StudyProtocol
) -> None:
    await consenting_patient(engine, protocol, clock)
    await run_until(engine, jobs, clock, clock.now() + timedelta(days=40))
    async with session_factory(engine)() as session:
        rows = list(
            await session.execute(
                select(OutboxMessage.dedupe_key, OutboxMessage.lane).where(OutboxMessage.chat_id == CHAT)
            )
        )
    contacts = [lane for key, lane in rows if key.startswith("contact:")]
    assert len(contacts) >= 10, "check-in, its nudges and the dose reminders of 40 days"
    assert set(contacts) == {Lane.BULK}


async def test_it_queues_the_daily_digest_as_bulk(study: Study) -> None:
    bot, clock = study.bot, study.clock
    await bot.send(PATIENT, "/report")
    for label in ("没有", "咳嗽", "完成", "没有", "提交"):
        await bot.tap(PATIENT, label)
    clock.set(datetime(2026, 3, 3, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai the next day
    await study.jobs.tick()
    async with session_factory(study.engine)() as session:
        lanes = list(await session.scalars(select(OutboxMessage.lane).where(OutboxMessage.dedupe_key.like("digest:%"))))
    assert lanes
    assert set(lanes) == {Lane.BULK}
