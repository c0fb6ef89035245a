"""A failed update is handled again, not dropped: its changes are rolled back and it is not marked as handled;
after three failures the person is asked to try again, a button's spinner is cleared, and the failure is kept
(the update's id and type and the error's type, never its content) for `followup doctor`."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.app import Deps
from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.services import onboarding
from bot.simulator.bot_api import BotApiStub
from bot.simulator.harness import Harness
from bot.update_scope import UpdateScope
from models import FailedUpdate, Patient, ProcessedUpdate
from tests.bot_fixtures import enrolled
from tests.test_updates import post
from tests.test_updates import webhook_bot as webhook_bot  # the fixture

CHAT = 6060001
TRY_AGAIN_ZH = "抱歉，我们这边出了点问题。请您过一分钟再试一次。"
TRY_AGAIN_EN = "Sorry, something went wrong on our side. Please try again in a minute."


class Pauses:
    """The pauses before an update is handled again (recorded, not waited)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
async def pauses(bot: Harness) -> Pauses:
    recorded = Pauses()
    deps: Deps = bot.application.bot_data["deps"]
    deps.sleep = recorded
    return recorded


async def always_failing(*_args: object, **_kwargs: object) -> object:
    raise RuntimeError("我现在发烧40度")  # an exception's message may quote a patient


async def failed_updates(engine: AsyncEngine) -> list[FailedUpdate]:
    async with session_factory(engine)() as session:
        return list(await session.scalars(select(FailedUpdate)))


async def linked_patient(engine: AsyncEngine) -> Patient:
    async with session_factory(engine)() as session:
        found = await session.scalar(select(Patient))
    assert found is not None
    return found


async def test_it_handles_an_update_again_when_the_database_was_locked(
    bot: Harness,
    pauses: Pauses,
    engine: AsyncEngine,
    protocol: StudyProtocol,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    invite = await enrolled(engine, protocol, clock)
    commit = AsyncSession.commit
    locked: list[bool] = []

    async def locked_once(self: AsyncSession) -> None:
        if not locked:  # a `patients import` holds SQLite's write lock past the busy timeout
            locked.append(True)
            await self.flush()  # the link is written, then the commit fails
            raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))
        await commit(self)

    monkeypatch.setattr(AsyncSession, "commit", locked_once)
    await bot.send(CHAT, f"/start {invite.code}")
    assert len(bot.stub.texts_to(CHAT)) == 1, "the consent screen, once"
    assert "您好" in bot.last_text(CHAT)
    assert (await linked_patient(engine)).telegram_chat_id == CHAT
    assert pauses.seconds == [0.5]
    (failed,) = await failed_updates(engine)
    assert (failed.update_type, failed.failures, failed.last_error, failed.gave_up_at) == (
        "message",
        1,
        "OperationalError",
        None,
    )


async def test_it_asks_to_try_again_and_clears_the_spinner_when_an_update_keeps_failing(
    bot: Harness,
    pauses: Pauses,
    engine: AsyncEngine,
    protocol: StudyProtocol,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    invite = await enrolled(engine, protocol, clock)
    await bot.send(CHAT, f"/start {invite.code}")

    async def locked(*_args: object) -> bool:
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(UpdateScope, "claim", locked)  # fails before any handler could answer the button
    await bot.tap(CHAT, "我同意")
    assert bot.last_text(CHAT) == TRY_AGAIN_ZH
    assert len([call for call in bot.stub.calls if call.method == "answerCallbackQuery"]) == 1
    assert pauses.seconds == [0.5, 2.0]
    (failed,) = await failed_updates(engine)
    assert (failed.update_type, failed.failures, failed.last_error) == ("callback_query", 3, "OperationalError")
    assert failed.gave_up_at == clock.now()
    kept = {name: value for name, value in vars(failed).items() if not name.startswith("_")}  # the columns
    assert "40" not in repr(kept), "nothing of the update or the error's message is kept"
    assert (await linked_patient(engine)).consented_at is None
    async with session_factory(engine)() as session:
        assert await session.get(ProcessedUpdate, failed.update_id) is None


async def test_it_handles_a_redelivered_copy_of_a_failed_update_again(
    webhook_bot: tuple[Harness, str],
    engine: AsyncEngine,
    stub: BotApiStub,
    protocol: StudyProtocol,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    harness, url = webhook_bot
    harness.application.bot_data["deps"].sleep = Pauses()
    invite = await enrolled(engine, protocol, clock)
    stub.user_sends(CHAT, f"/start {invite.code}", language="en")
    (update,) = stub.take_updates()
    with monkeypatch.context() as broken:
        broken.setattr(onboarding, "redeem", always_failing)
        assert await post(url, update) == 200
        await harness.handled(int(update["update_id"]))
    assert stub.texts_to(CHAT) == [TRY_AGAIN_EN], "a stranger is answered in Telegram's language"
    assert await post(url, update) == 200  # Telegram's retry, or a restart
    await harness.handled(int(update["update_id"]), times=2)
    assert "您好" in stub.texts_to(CHAT)[-1], "handled: the patient's consent screen, in their language"
    assert (await linked_patient(engine)).telegram_chat_id == CHAT
    (failed,) = await failed_updates(engine)
    assert failed.failures == 3
