"""Fixtures for end-to-end tests: the real Application polling the loopback Bot API on a fake clock."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.app import build_application
from bot.clock import FakeClock
from bot.config import load_settings
from bot.db import session_factory
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import TelegramSender
from bot.protocol import StudyProtocol
from bot.services.enrollment import Enrolled
from bot.simulator.bot_api import BotApiStub
from bot.simulator.harness import Harness, running
from models import Site
from tests.factories import enroll, make_site

RunBot = Callable[..., AbstractAsyncContextManager[Harness]]


@pytest.fixture
async def stub() -> AsyncIterator[BotApiStub]:
    async with BotApiStub() as running_stub:
        yield running_stub


@pytest.fixture
def run_bot(engine: AsyncEngine, stub: BotApiStub, protocol: StudyProtocol, clock: FakeClock) -> RunBot:
    """Start (or restart) the bot process: a new Application on the same database, stub and clock."""

    def start(**overrides: object) -> AbstractAsyncContextManager[Harness]:
        settings = load_settings(
            telegram_token=stub.token, telegram_api_url=stub.base_url, bot_username="sle_followup_bot", **overrides
        )
        application = build_application(
            settings=settings, protocol=protocol, clock=clock, sessions=session_factory(engine)
        )
        return running(stub, application)

    return start


@pytest.fixture
async def bot(run_bot: RunBot) -> AsyncIterator[Harness]:
    async with run_bot() as harness:
        yield harness


async def enrolled(
    engine: AsyncEngine,
    protocol: StudyProtocol,
    clock: FakeClock,
    *,
    study_id: str = "S001",
    group: str = "il2",
    language: str = "zh_CN",
    enrolled_on: date | None = None,
    site: str = "PKU",
    **extra: object,
) -> Enrolled:
    """Enroll through the real service (making the site first if needed)."""
    async with session_factory(engine)() as session:
        if await session.scalar(select(Site).where(Site.code == site)) is None:
            await make_site(session, clock, code=site)
        return await enroll(
            session,
            protocol,
            clock,
            study_id=study_id,
            group=group,
            language=language,
            enrolled_on=enrolled_on,
            site=site,
            **extra,
        )


class FakeSleep:
    """Sleeping moves the fake clock; the waits are recorded."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))


def dispatcher(
    engine: AsyncEngine, telegram: Bot, clock: FakeClock, sleep: FakeSleep, rate: float = 25, concurrency: int = 1
) -> Dispatcher:
    """The tests' outbox dispatcher: the real sender on the fake clock, `rate` messages a second, one send at a
    time unless `concurrency` says otherwise (`Dispatcher.concurrency`: as `followup run` sends)."""
    return Dispatcher(
        sessions=session_factory(engine),
        sender=TelegramSender(telegram),
        clock=clock,
        limiter=RateLimiter(clock=clock, per_second=rate),
        sleep=sleep,
        concurrency=concurrency,
    )


async def deliver_outbox(engine: AsyncEngine, stub: BotApiStub, clock: FakeClock) -> int:
    """Send everything due in the outbox through the real sender to the stub (the fake clock keeps the pace)."""
    async with Bot(stub.token, base_url=stub.base_url) as telegram:
        return await dispatcher(engine, telegram, clock, FakeSleep(clock)).drain()


@pytest.fixture
def stub_in_thread() -> Iterator[BotApiStub]:
    """The stub on its own event loop, for code that runs `asyncio.run` itself (the CLI)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: list[BotApiStub] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        holder.append(loop.run_until_complete(BotApiStub().start()))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(5)
    yield holder[0]
    asyncio.run_coroutine_threadsafe(holder[0].stop(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()
