"""The outbox dispatcher: Telegram's limits, retries, permanent errors; nothing lost, nothing sent twice."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.clock import FakeClock
from bot.db import create_engine, session_factory
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.outbox import enqueue, listen_for_urgent, next_due, stop_listening
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import Outcome, TelegramSender
from bot.protocol import StudyProtocol
from bot.simulator.bot_api import BotApiStub
from models import Lane, OutboxMessage, OutboxStatus, Patient
from tests.bot_fixtures import FakeSleep, dispatcher, enrolled
from tests.conftest import requires_postgres


@pytest.fixture
async def telegram(stub: BotApiStub) -> Bot:
    bot = Bot(stub.token, base_url=stub.base_url)
    await bot.initialize()
    yield bot  # type: ignore[misc]
    await bot.shutdown()


async def queue(engine: AsyncEngine, clock: FakeClock, messages: list[tuple[int, str]], **extra: object) -> None:
    async with session_factory(engine)() as session:
        for chat_id, text in messages:
            await enqueue(
                session,
                dedupe_key=f"test:{chat_id}:{text}",
                chat_id=chat_id,
                payload={"text": text},
                now=clock.now(),
                **extra,
            )  # type: ignore[arg-type]
        await session.commit()


async def statuses(engine: AsyncEngine) -> dict[str, int]:
    async with session_factory(engine)() as session:
        rows = await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return {status.value: count for status, count in rows}


async def drain_until_done(engine: AsyncEngine, worker: Dispatcher, clock: FakeClock) -> None:
    """Drain, then move the fake clock to the next retry, until nothing is pending."""
    for _ in range(500):
        await worker.drain()
        async with session_factory(engine)() as session:
            due = await next_due(session)
        if due is None:
            return
        clock.set(max(due, clock.now()))
    raise AssertionError("the outbox never emptied")


async def test_it_sends_once_per_dedupe_key(
    engine: AsyncEngine, telegram: Bot, stub: BotApiStub, clock: FakeClock
) -> None:
    await queue(engine, clock, [(1, "a"), (2, "b")])
    await queue(engine, clock, [(1, "a")])
    start = clock.now()
    sent = await dispatcher(engine, telegram, clock, FakeSleep(clock)).drain()
    assert sent == 2
    assert stub.texts_to(1) == ["a"]
    async with session_factory(engine)() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == 1))
    assert row is not None
    assert (row.status, row.attempts, row.sent_at) == (OutboxStatus.SENT, 1, start)
    assert row.telegram_message_id is not None


async def test_it_keeps_to_the_global_rate(engine: AsyncEngine, telegram: Bot, clock: FakeClock) -> None:
    await queue(engine, clock, [(chat, "hello") for chat in range(1, 51)])
    start = clock.now()
    await dispatcher(engine, telegram, clock, FakeSleep(clock), rate=25).drain()
    assert clock.now() - start == timedelta(seconds=49 / 25)


async def test_it_sends_at_most_one_message_a_second_to_a_chat(
    engine: AsyncEngine, telegram: Bot, stub: BotApiStub, clock: FakeClock
) -> None:
    await queue(engine, clock, [(7, "one"), (7, "two"), (7, "three"), (8, "other")])
    start = clock.now()
    await dispatcher(engine, telegram, clock, FakeSleep(clock)).drain()
    assert stub.texts_to(7) == ["one", "two", "three"]
    assert clock.now() - start == timedelta(seconds=2)


async def test_it_loses_nothing_with_30_percent_transient_errors(
    engine: AsyncEngine, telegram: Bot, stub: BotApiStub, clock: FakeClock
) -> None:
    stub.flaky("sendMessage", 0.3, seed=4)
    expected = [(chat, f"reminder {chat}") for chat in range(1, 201)]
    await queue(engine, clock, expected)
    await drain_until_done(engine, dispatcher(engine, telegram, clock, FakeSleep(clock)), clock)
    delivered = [(message.chat_id, message.text) for message in stub.messages.values()]
    assert sorted(delivered) == sorted(expected)
    assert await statuses(engine) == {"sent": 200}
    async with session_factory(engine)() as session:
        retried = await session.scalar(select(func.count()).where(OutboxMessage.attempts > 1))
    assert retried is not None
    assert retried > 30


async def test_it_honours_retry_after_exactly(
    engine: AsyncEngine, telegram: Bot, stub: BotApiStub, clock: FakeClock
) -> None:
    stub.fail("sendMessage", 429, retry_after=7, times=3)
    await queue(engine, clock, [(chat, "x") for chat in range(1, 6)])
    sleep = FakeSleep(clock)
    worker = dispatcher(engine, telegram, clock, sleep)
    first_429 = clock.now()
    await drain_until_done(engine, worker, clock)
    assert await statuses(engine) == {"sent": 5}
    assert len([call for call in stub.calls if call.method == "sendMessage"]) == 8  # 3 refused, then 5
    assert clock.now() - first_429 >= timedelta(seconds=7)
    assert any(abs(wait - 7) < 0.05 for wait in sleep.waits)


async def test_it_marks_a_patient_who_blocked_the_bot_unreachable_and_tells_the_coordinator(
    engine: AsyncEngine, telegram: Bot, stub: BotApiStub, clock: FakeClock, protocol: StudyProtocol
) -> None:
    invite = await enrolled(engine, protocol, clock)
    async with session_factory(engine)() as session:
        from bot.services.sites import add_staff
        from models import StaffRole

        staff, _code = await add_staff(
            session,
            site_code="PKU",
            role=StaffRole.COORDINATOR,
            name="Ms Wang",
            actor="cli:test",
            now=clock.now(),
            invite_valid_days=7,
        )
        staff.telegram_user_id = 4242
        await session.commit()
    stub.block(31)
    await queue(engine, clock, [(31, "dose reminder")], patient_id=invite.patient.id)
    await dispatcher(engine, telegram, clock, FakeSleep(clock)).drain()
    async with session_factory(engine)() as session:
        patient = await session.get_one(Patient, invite.patient.id)
        dead = await session.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == 31))
    assert patient.unreachable
    assert dead is not None
    assert (dead.status, dead.last_error) == (OutboxStatus.DEAD, "403 Forbidden: bot was blocked by the user")
    assert stub.texts_to(4242) == ["无法通过Telegram联系S001（患者屏蔽了机器人或已停用Telegram）。"]  # her language


async def test_it_puts_a_bad_request_in_the_dead_letters(
    engine: AsyncEngine, telegram: Bot, stub: BotApiStub, clock: FakeClock
) -> None:
    stub.fail("sendMessage", 400, description="Bad Request: message text is empty")
    await queue(engine, clock, [(5, "")])
    await dispatcher(engine, telegram, clock, FakeSleep(clock)).drain()
    async with session_factory(engine)() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None
    assert (row.status, row.last_error) == (OutboxStatus.DEAD, "400 Message text is empty")


async def test_it_hands_out_again_what_a_dead_worker_had_claimed(
    engine: AsyncEngine, telegram: Bot, stub: BotApiStub, clock: FakeClock
) -> None:
    await queue(engine, clock, [(1, "in flight when the worker died")])
    async with session_factory(engine)() as session:
        from bot.delivery.outbox import claim_due

        assert len(await claim_due(session, worker="dead", now=clock.now(), limit=10, lease=timedelta(minutes=2))) == 1
    worker = dispatcher(engine, telegram, clock, FakeSleep(clock))
    assert await worker.drain() == 0
    clock.advance(timedelta(minutes=3))
    assert await worker.drain() == 1
    assert stub.texts_to(1) == ["in flight when the worker died"]


@requires_postgres
async def test_it_never_sends_a_message_twice_with_two_dispatchers_on_postgres(
    database_url: str, stub: BotApiStub, clock: FakeClock
) -> None:
    engines = [create_engine(database_url), create_engine(database_url)]
    await queue(engines[0], clock, [(chat, f"m{chat}") for chat in range(1, 401)])
    bots = [Bot(stub.token, base_url=stub.base_url) for _ in engines]
    for bot in bots:
        await bot.initialize()

    async def no_wait(_seconds: float) -> None:
        await asyncio.sleep(0)

    workers = [
        Dispatcher(
            sessions=session_factory(engine),
            sender=TelegramSender(bot),
            clock=clock,
            limiter=RateLimiter(clock=clock, per_second=100_000),
            sleep=no_wait,
            batch=20,
            concurrency=4,
        )
        for engine, bot in zip(engines, bots, strict=True)
    ]
    handled = await asyncio.gather(*(worker.drain() for worker in workers))
    sends = [call for call in stub.calls if call.method == "sendMessage"]
    assert sum(handled) == 400
    assert all(count > 0 for count in handled), "both dispatchers took part"
    assert len(sends) == 400
    assert len({call.params["chat_id"] for call in sends}) == 400
    for bot in bots:
        await bot.shutdown()
    for engine in engines:
        await engine.dispose()


async def test_it_retries_a_send_that_timed_out(engine: AsyncEngine, stub: BotApiStub, clock: FakeClock) -> None:
    from telegram.request import HTTPXRequest

    stub.stall("sendMessage")
    async with Bot(stub.token, base_url=stub.base_url, request=HTTPXRequest(read_timeout=0.2)) as impatient:
        await queue(engine, clock, [(3, "after a timeout")])
        await drain_until_done(engine, dispatcher(engine, impatient, clock, FakeSleep(clock)), clock)
    async with session_factory(engine)() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row is not None
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    assert [message.text for message in stub.screen(3)] == ["after a timeout"]


class TimedSender(TelegramSender):
    """Sends through the stub and notes when (on the fake clock) each chat's message went."""

    def __init__(self, bot: Bot, clock: FakeClock) -> None:
        super().__init__(bot)
        self.clock = clock
        self.sent: list[tuple[float, int]] = []

    async def send(self, message: OutboxMessage) -> Outcome:
        self.sent.append((self.clock.now().timestamp(), message.chat_id))
        return await super().send(message)


def assert_within_limits(sent: list[tuple[float, int]], rate: float) -> None:
    times = [at for at, _chat in sent]
    assert all(later - earlier >= 1 / rate - 1e-6 for earlier, later in itertools.pairwise(times))
    last_to: dict[int, float] = {}
    for at, chat in sent:
        assert at - last_to.get(chat, -10.0) >= 1 - 1e-6
        last_to[chat] = at


URGENT_CHAT = 9999
BACKLOG = [(chat, f"reminder {chat}") for chat in range(1, 201)]


async def test_it_sends_urgent_rows_before_due_bulk_rows(
    engine: AsyncEngine, telegram: Bot, stub: BotApiStub, clock: FakeClock
) -> None:
    await queue(engine, clock, BACKLOG, lane=Lane.BULK)
    clock.advance(timedelta(seconds=30))  # the urgent row is the newest due row
    await queue(engine, clock, [(URGENT_CHAT, "urgent advice")], lane=Lane.URGENT)
    await dispatcher(engine, telegram, clock, FakeSleep(clock)).drain()
    sends = [call.params["chat_id"] for call in stub.calls if call.method == "sendMessage"]
    assert sends[0] == URGENT_CHAT
    assert len(sends) == 201


async def test_it_lets_an_urgent_row_overtake_the_bulk_batch_already_claimed(
    engine: AsyncEngine, telegram: Bot, clock: FakeClock
) -> None:
    """A reminder backlog is draining at 25/s when a handler commits an urgent row: it goes at the next send
    slot, ahead of the rest of the claimed batch, still 1/25 s after the previous message."""
    await queue(engine, clock, BACKLOG, lane=Lane.BULK)
    sender = TimedSender(telegram, clock)
    sleep = FakeSleep(clock)
    worker = Dispatcher(
        sessions=session_factory(engine),
        sender=sender,
        clock=clock,
        limiter=RateLimiter(clock=clock, per_second=25),
        sleep=sleep,
    )
    listen_for_urgent(worker.urgent_waiting)
    committed_at: list[float] = []

    async def sleep_then_submit(seconds: float) -> None:
        await asyncio.sleep(0)  # the sends already started note their time before the clock moves on
        await sleep(seconds)
        if len(sleep.waits) == 5:  # the fifth bulk message of the first batch of 25 is about to go
            committed_at.append(clock.now().timestamp())
            await queue(engine, clock, [(URGENT_CHAT, "urgent advice")], lane=Lane.URGENT)

    worker.sleep = sleep_then_submit
    try:
        await worker.drain()
    finally:
        stop_listening(worker.urgent_waiting)
    chats = [chat for _at, chat in sender.sent]
    position = chats.index(URGENT_CHAT)
    assert position == 5, "in the slot the next reminder was waiting for"
    assert sender.sent[position][0] - committed_at[0] <= 1 / 25
    assert len(chats) == 201
    assert_within_limits(sender.sent, rate=25)


async def test_it_claims_about_one_second_of_sending_at_a_time(
    engine: AsyncEngine, telegram: Bot, clock: FakeClock
) -> None:
    await queue(engine, clock, BACKLOG, lane=Lane.BULK)
    worker = dispatcher(engine, telegram, clock, FakeSleep(clock), rate=25)
    assert await worker.drain_once() == 25


async def test_it_wakes_the_resident_dispatcher_when_an_urgent_row_is_committed(
    engine: AsyncEngine, telegram: Bot, stub: BotApiStub, clock: FakeClock
) -> None:
    worker = dispatcher(engine, telegram, clock, FakeSleep(clock))
    first_pass_done = asyncio.Event()
    drain = worker.drain

    async def drain_and_tell() -> int:
        handled = await drain()
        first_pass_done.set()
        return handled

    worker.drain = drain_and_tell  # type: ignore[method-assign]
    serving = asyncio.create_task(worker.serve(interval=3600))  # no polling pass while the test runs
    try:
        async with asyncio.timeout(5):
            await first_pass_done.wait()
            await queue(engine, clock, [(URGENT_CHAT, "urgent advice")], lane=Lane.URGENT)
            await stub.wait_for_calls("sendMessage")
        assert stub.texts_to(URGENT_CHAT) == ["urgent advice"]
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
