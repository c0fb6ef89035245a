"""The processes: followup run, followup tick, and a dispatcher killed by SIGKILL (nothing lost)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.clock import FakeClock
from bot.config import get_settings
from bot.db import create_engine, session_factory
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.outbox import enqueue
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import TelegramSender
from bot.protocol import StudyProtocol
from bot.services import onboarding
from bot.simulator.bot_api import BotApiStub
from models import OutboxMessage, OutboxStatus
from tests.bot_fixtures import enrolled

MESSAGES = 1000
CONCURRENCY = 16  # Dispatcher's default: at most this many requests are in flight at once


def in_stub_loop(stub: BotApiStub, coroutine: object, timeout: float = 60) -> object:
    loop = stub._server.get_loop()  # type: ignore[union-attr]
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)  # type: ignore[arg-type]


def test_it_runs_one_tick_from_the_command_line(
    cli_env: str, stub_in_thread: BotApiStub, monkeypatch: pytest.MonkeyPatch, protocol: StudyProtocol
) -> None:
    monkeypatch.setenv("FOLLOWUP_TELEGRAM_TOKEN", stub_in_thread.token)
    monkeypatch.setenv("FOLLOWUP_TELEGRAM_API_URL", stub_in_thread.base_url)
    get_settings.cache_clear()
    now = datetime.now(UTC)
    clock = FakeClock(now)

    async def prepare() -> None:
        engine = create_engine(cli_env)
        today_at_site = now.astimezone(ZoneInfo("Asia/Shanghai")).date()  # the dose day is the site's, not UTC's
        invite = await enrolled(
            engine, protocol, clock, enrolled_on=today_at_site, language="en", reminder_time="00:00"
        )
        async with session_factory(engine)() as session:
            linked = await onboarding.redeem(session, code=invite.code, chat_id=321, now=now)
            assert isinstance(linked, onboarding.LinkedPatient)
            await onboarding.give_consent(session, patient=linked.patient, agree=True, now=now)
            await onboarding.set_reminder_time(
                session, patient=linked.patient, reminder_time=linked.patient.reminder_time, protocol=protocol, now=now
            )
        await engine.dispose()

    asyncio.run(prepare())
    result = CliRunner().invoke(cli, ["tick"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().startswith('{"onboarding": 0, "contacts": ')
    assert [message.text.split(":")[0] for message in stub_in_thread.screen(321)] == [
        "💉 Today is your IL-2 injection day"
    ]


def test_it_loses_nothing_when_a_dispatcher_is_killed(
    database_url: str, stub_in_thread: BotApiStub, tmp_path: Path
) -> None:
    clock = FakeClock(datetime.now(UTC) - timedelta(minutes=1))

    async def fill() -> None:
        engine = create_engine(database_url)
        async with session_factory(engine)() as session:
            for chat in range(1, MESSAGES + 1):
                await enqueue(
                    session,
                    dedupe_key=f"crash:{chat}",
                    chat_id=chat,
                    payload={"text": f"m{chat}"},
                    now=clock.now(),
                )
            await session.commit()
        await engine.dispose()

    asyncio.run(fill())
    env = {
        **os.environ,
        "FOLLOWUP_DATABASE_URL": database_url,
        "FOLLOWUP_TELEGRAM_TOKEN": stub_in_thread.token,
        "FOLLOWUP_TELEGRAM_API_URL": stub_in_thread.base_url,
        "FOLLOWUP_GLOBAL_RATE_PER_SECOND": "200",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "tick"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    in_stub_loop(stub_in_thread, stub_in_thread.wait_for_calls("sendMessage", 300))
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(10) == -signal.SIGKILL
    delivered_before = len(stub_in_thread.messages)
    assert delivered_before < MESSAGES, "the worker was killed before it finished"

    async def restart() -> dict[str, int]:
        engine = create_engine(database_url)
        later = FakeClock(datetime.now(UTC) + timedelta(minutes=5))  # the dead worker's lease has run out
        from telegram import Bot

        async with Bot(stub_in_thread.token, base_url=stub_in_thread.base_url) as bot:
            restarted = Dispatcher(
                sessions=session_factory(engine),
                sender=TelegramSender(bot),
                clock=later,
                limiter=RateLimiter(clock=later, per_second=1000),
                sleep=lambda _s: asyncio.sleep(0),
            )
            await restarted.drain()
        async with session_factory(engine)() as session:
            rows = await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
            counts = {status.value: count for status, count in rows}
        await engine.dispose()
        return counts

    assert asyncio.run(restart()) == {OutboxStatus.SENT.value: MESSAGES}
    received = Counter(message.chat_id for message in stub_in_thread.messages.values())
    assert set(received) == set(range(1, MESSAGES + 1)), "every message arrived"
    repeated = sum(count - 1 for count in received.values())
    assert repeated <= CONCURRENCY, f"{repeated} repeats; only messages in flight at the kill may repeat"


def test_it_runs_the_bot_and_its_scheduler_as_a_process_without_leaking_the_token(
    database_url: str, stub_in_thread: BotApiStub, tmp_path: Path
) -> None:
    async def queue_notice() -> None:
        engine = create_engine(database_url)
        async with session_factory(engine)() as session:
            await enqueue(
                session,
                dedupe_key="run:1",
                chat_id=77,
                payload={"text": "from the outbox"},
                now=datetime.now(UTC) - timedelta(seconds=1),
            )
            await session.commit()
        await engine.dispose()

    asyncio.run(queue_notice())
    env = {
        **os.environ,
        "FOLLOWUP_DATABASE_URL": database_url,
        "FOLLOWUP_TELEGRAM_TOKEN": stub_in_thread.token,
        "FOLLOWUP_TELEGRAM_API_URL": stub_in_thread.base_url,
        "FOLLOWUP_LOG_LEVEL": "DEBUG",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        in_stub_loop(stub_in_thread, stub_in_thread.wait_for_calls("setMyCommands", 1))
        stub_in_thread.user_sends(55, "/start", language="en")
        in_stub_loop(stub_in_thread, stub_in_thread.wait_for_calls("sendMessage", 2))  # the reply and the notice
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert [message.text for message in stub_in_thread.screen(77)] == ["from the outbox"]
    assert "only for people taking part" in stub_in_thread.screen(55)[0].text
    assert stub_in_thread.token not in output
    assert stub_in_thread.token.split(":")[1] not in output
    assert "only for people taking part" not in output, "message text must not be logged, even at DEBUG"
    assert "from the outbox" not in output
    assert "aiosqlite" not in output, "SQL parameters may carry answers"
    assert "sqlalchemy.engine" not in output, "SQL parameters may carry answers"
