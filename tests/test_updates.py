"""Webhook mode behaves like polling and checks its secret; a redelivered update is handled once, and an update's
"handled" mark commits together with its first change."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.app import build_application
from bot.cli.ops import ALLOWED_UPDATES, WEBHOOK_PATH
from bot.clock import FakeClock
from bot.config import load_settings
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.services.sites import add_site
from bot.simulator.bot_api import BotApiStub
from bot.simulator.harness import Harness
from bot.update_scope import RepeatedUpdate, update_scope
from models import ProcessedUpdate, Site
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
    assert stub.webhook["allowed_updates"] == ["message", "callback_query", "my_chat_member"]


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


async def test_it_answers_a_redelivered_update_that_changed_nothing_only_once(
    webhook_bot: tuple[Harness, str], engine: AsyncEngine, stub: BotApiStub
) -> None:
    harness, url = webhook_bot
    stub.user_sends(CHAT, "/help")  # a stranger's /help: a reply, no change
    (update,) = stub.take_updates()
    for times in (1, 2):
        assert await post(url, update) == 200
        await harness.handled(int(update["update_id"]), times=times)
    assert len(stub.texts_to(CHAT)) == 1
    async with session_factory(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 1


async def _add_site(session: AsyncSession, code: str, clock: FakeClock) -> None:
    await add_site(
        session, code=code, name=code, timezone="Asia/Shanghai", phone="+86 10 8888 0000", actor="test", now=clock.now()
    )


async def test_it_keeps_only_the_first_of_two_copies_of_an_update_handled_at_the_same_time(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    """Two processes got the same update: both find it new, the second one's commit fails and keeps nothing."""
    sessions = session_factory(engine)
    async with update_scope(sessions) as first, update_scope(sessions) as second:
        assert await first.claim(41, clock.now())
        assert await second.claim(41, clock.now())
        await _add_site(first.session, "FIRST", clock)
        with pytest.raises(RepeatedUpdate):
            await _add_site(second.session, "SECOND", clock)
    async with sessions() as session:
        assert list(await session.scalars(select(Site.code))) == ["FIRST"]
        assert list(await session.scalars(select(ProcessedUpdate.update_id))) == [41]


async def test_it_marks_an_update_in_the_transaction_of_its_first_change(engine: AsyncEngine, clock: FakeClock) -> None:
    sessions = session_factory(engine)
    async with update_scope(sessions) as scope:
        assert await scope.claim(42, clock.now())
        async with sessions() as elsewhere:
            assert await elsewhere.get(ProcessedUpdate, 42) is None, "not before the change commits"
        await _add_site(scope.session, "PKU", clock)
        async with sessions() as elsewhere:
            assert await elsewhere.get(ProcessedUpdate, 42) is not None
            assert await elsewhere.scalar(select(func.count()).select_from(Site)) == 1
        await _add_site(scope.session, "RJH", clock)  # a second commit adds no second mark
    async with update_scope(sessions) as again:
        assert not await again.claim(42, clock.now())
