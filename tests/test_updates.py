"""Webhook mode behaves like polling and checks its secret; a redelivered update is handled once."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_application
from bot.cli.ops import ALLOWED_UPDATES, WEBHOOK_PATH
from bot.clock import FakeClock
from bot.config import load_settings
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.simulator.bot_api import BotApiStub
from bot.simulator.harness import Harness
from models import ProcessedUpdate
from tests.bot_fixtures import enrolled

SECRET = "a-webhook-secret-of-some-length"
CHAT = 8080


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def webhook_bot(
    engine: AsyncEngine, stub: BotApiStub, protocol: StudyProtocol, clock: FakeClock
) -> AsyncIterator[tuple[Harness, str]]:
    settings = load_settings(telegram_token=stub.token, telegram_api_url=stub.base_url, bot_username="sle_followup_bot")
    application = build_application(settings=settings, protocol=protocol, clock=clock, sessions=session_factory(engine))
    harness = Harness(stub, application)
    port = free_port()
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path=WEBHOOK_PATH,
            secret_token=SECRET,
            webhook_url=f"https://followup.example.org/{WEBHOOK_PATH}",
            allowed_updates=ALLOWED_UPDATES,
        )
        yield harness, f"http://127.0.0.1:{port}/{WEBHOOK_PATH}"
        await application.updater.stop()
        await application.stop()


async def post(url: str, update: dict[str, object], secret: str | None = SECRET) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            url, content=json.dumps(update), headers={**headers, "Content-Type": "application/json"}
        )
    return response.status_code


async def test_it_registers_the_webhook_with_its_secret(webhook_bot: tuple[Harness, str], stub: BotApiStub) -> None:
    assert stub.webhook is not None
    assert stub.webhook["url"] == "https://followup.example.org/telegram"
    assert stub.webhook["secret_token"] == SECRET
    assert stub.webhook["allowed_updates"] == ["message", "callback_query"]


async def test_it_handles_webhook_updates_like_polled_ones_and_each_only_once(
    webhook_bot: tuple[Harness, str],
    engine: AsyncEngine,
    stub: BotApiStub,
    protocol: StudyProtocol,
    clock: FakeClock,
) -> None:
    harness, url = webhook_bot
    invite = await enrolled(engine, protocol, clock, language="en")
    stub.user_sends(CHAT, f"/start {invite.code}")
    (update,) = stub.take_updates()
    assert await post(url, update) == 200
    await harness.handled(int(update["update_id"]))
    assert stub.texts_to(CHAT)[-1].startswith("Hello! This is the follow-up")
    assert await post(url, update) == 200  # Telegram redelivers the same update
    await harness.handled(int(update["update_id"]), times=2)
    assert len(stub.texts_to(CHAT)) == 1
    async with session_factory(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 1


async def test_it_refuses_a_webhook_call_without_the_secret(webhook_bot: tuple[Harness, str], stub: BotApiStub) -> None:
    _harness, url = webhook_bot
    stub.user_sends(CHAT, "/help")
    (update,) = stub.take_updates()
    assert await post(url, update, secret=None) == 403
    assert await post(url, update, secret="wrong-secret-value-here") == 403
    assert stub.texts_to(CHAT) == []
