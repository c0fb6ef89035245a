"""(a) Incoming updates per second for complete monthly check-ins, through the real Application and the loopback
Bot API, as a ratio against bare python-telegram-bot bots on the same stub, in the same run; and the taps'
database transactions alone, to show how much of a bare bot's update they cost by themselves.

Both face the same load: `users` people at once, each waiting for the bot's answer before the next update.
The follow-up bot runs on a durable SQLite file (fsync on every commit), as a small site would run it, and,
given a PostgreSQL URL, on PostgreSQL as well (where it handles updates from different chats concurrently).
Each configuration runs `rounds` times, interleaved, and its best round counts: on a shared machine the best
round is the one least disturbed by other work, for every configuration alike.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bench.databases import fresh
from bot.app import active_updates, build_application
from bot.clock import FakeClock
from bot.config import SHIPPED_PROTOCOL, load_settings
from bot.db import create_engine, session_factory
from bot.forms import FORMS, Item
from bot.protocol import StudyProtocol, load_protocol
from bot.services import checkins, onboarding
from bot.services.checkin_answers import answers_so_far, move_to, store_answer
from bot.services.enrollment import EnrollmentRequest, enroll_patient
from bot.services.sites import add_site
from bot.simulator.bot_api import ApiCall, BotApiStub
from bot.simulator.demo import Demo, Person
from bot.simulator.harness import Harness, running
from bot.update_scope import update_scope
from models import FormKind, Patient

ENROLLED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
MONTH_ONE_OPEN = datetime(2026, 4, 2, 2, 0, tzinfo=UTC)


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


async def _two_calls(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What a tap needs at the least: two Bot API calls at once (answerCallbackQuery and the edit; here two
    replies), and nothing else."""
    message = update.effective_message
    assert message is not None
    await asyncio.gather(*(message.reply_text(message.text or "") for _ in range(2)))


async def bare_rate(users: int, per_user: int, *, calls: int = 1) -> tuple[int, float]:
    """A bare python-telegram-bot bot (its defaults) making `calls` Bot API calls per update."""
    async with BotApiStub() as stub:
        application = ApplicationBuilder().token(stub.token).base_url(stub.base_url).build()
        application.add_handler(MessageHandler(filters.TEXT, _echo if calls == 1 else _two_calls))
        async with running(stub, application) as harness:  # type: ignore[arg-type]

            async def person(chat: int) -> None:
                for number in range(per_user):
                    await harness.send(chat, f"message {number}")

            started = time.perf_counter()
            await asyncio.gather(*(person(1000 + user) for user in range(users)))
            return users * per_user, time.perf_counter() - started


Shown = tuple[str, InlineKeyboardMarkup | None]


def _shown(calls: list[ApiCall], chat: int) -> list[Shown]:
    """What the follow-up bot showed one chat, in order: the question it sent, then each edit of it."""
    return [
        (str(call.params.get("text", "")), InlineKeyboardMarkup.de_json(markup, None) if markup else None)
        for call in calls
        if call.method in ("sendMessage", "editMessageText") and call.params.get("chat_id") == chat
        for markup in [call.params.get("reply_markup")]
    ]


async def tap_floor_rate(users: int, per_user: int, shown: list[list[Shown]]) -> tuple[int, float]:
    """A bare python-telegram-bot bot (its defaults) doing what a check-in asks of a bot and nothing else: a
    message opens a question (one sendMessage with its keyboard) and each tap on it is answered and the question
    edited in place (answerCallbackQuery and editMessageText at once). Person `i` is shown what the follow-up
    bot showed its `i`-th patient, in the same order (`shown`, taken from a check-in run: the same texts and
    keyboards, so the same payloads both ways), and taps a button of the newest question, `per_user` updates in
    all: the updates the check-in run sends, against the same stub, with no database and no logic."""
    script: dict[int, list[Shown]] = {1000 + user: views for user, views in enumerate(shown)}
    next_view: dict[int, int] = {}

    def view_for(chat: int) -> Shown:
        views = script[chat]
        position = next_view.get(chat, 0)
        next_view[chat] = position + 1
        return views[min(position, len(views) - 1)]

    async def ask(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        text, keyboard = view_for(message.chat_id)
        await message.reply_text(text, reply_markup=keyboard)

    async def answer_and_edit(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        assert query.message is not None
        text, keyboard = view_for(query.message.chat.id)
        await asyncio.gather(query.answer(), query.edit_message_text(text, reply_markup=keyboard))

    async with BotApiStub() as stub:
        application = ApplicationBuilder().token(stub.token).base_url(stub.base_url).build()
        application.add_handler(MessageHandler(filters.TEXT, ask))
        application.add_handler(CallbackQueryHandler(answer_and_edit))
        async with running(stub, application) as harness:  # type: ignore[arg-type]

            async def person(chat: int) -> None:
                await harness.send(chat, "/checkin")
                for _tap in range(per_user - 1):
                    newest = stub.screen(chat)[-1]
                    await harness.tap_data(chat, newest.message_id, newest.buttons[0][1] if newest.buttons else "-")

            started = time.perf_counter()
            await asyncio.gather(*(person(1000 + user) for user in range(users)))
            return users * per_user, time.perf_counter() - started


@dataclass(frozen=True)
class CheckinRun:
    updates: int
    seconds: float
    statements: int  # SQL statements sent to the database while the check-ins ran
    commits: int
    shown: list[list[Shown]]  # what each patient was shown, in order (the tap floor bot shows the same)


@dataclass(frozen=True)
class Study:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    protocol: StudyProtocol
    clock: FakeClock  # at the first month's check-in
    people: list[Person]


@asynccontextmanager
async def study(users: int, database_url: str | None) -> AsyncIterator[Study]:
    """A new database (an SQLite file, or the PostgreSQL database emptied) with `users` patients enrolled at
    one site, linked to chats 5000, 5001, …, consenting, with the first month's check-in open."""
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        fresh(url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        protocol = load_protocol(SHIPPED_PROTOCOL)
        clock = FakeClock(ENROLLED)
        async with sessions() as session:
            await add_site(
                session,
                code="PKU",
                name="PKU",
                timezone="Asia/Shanghai",
                phone="+86 10 8888 0000",
                actor="bench",
                now=clock.now(),
            )
        people = []
        for user in range(users):
            async with sessions() as session:
                request = EnrollmentRequest.model_validate(
                    {"study_id": f"B{user:05d}", "site": "PKU", "group": "il2" if user % 2 else "control"}
                )
                enrolled = await enroll_patient(
                    session, request=request, protocol=protocol, actor="bench", now=clock.now()
                )
                linked = await onboarding.redeem(session, code=enrolled.code, chat_id=5000 + user, now=clock.now())
                assert isinstance(linked, onboarding.LinkedPatient)
                await onboarding.give_consent(session, patient=linked.patient, agree=True, now=clock.now())
                await onboarding.set_reminder_time(
                    session,
                    patient=linked.patient,
                    reminder_time=linked.patient.reminder_time,
                    protocol=protocol,
                    now=clock.now(),
                )
            people.append(Person(5000 + user, request.study_id))
        clock.set(MONTH_ONE_OPEN)
        try:
            yield Study(engine, sessions, protocol, clock, people)
        finally:
            await engine.dispose()


async def checkin_rate(users: int, database_url: str | None = None) -> CheckinRun:
    async with BotApiStub() as stub, study(users, database_url) as ready:
        settings = load_settings(telegram_token=stub.token, telegram_api_url=stub.base_url, bot_username="bench_bot")
        application = build_application(
            settings=settings, protocol=ready.protocol, clock=ready.clock, sessions=ready.sessions
        )
        sent = _StatementCounter(ready.engine.sync_engine)
        async with running(stub, application) as harness:
            demo = Demo(harness, ready.clock, random.Random(1))
            answers: dict[str, str | list[str]] = {
                "steroid": "prednisone",
                "steroid_amount": "1.5",
                "immunosuppressants": ["hydroxychloroquine"],
            }
            counted = _Counter(harness)

            async def person(who: Person) -> None:
                await harness.send(who.chat, "/checkin")
                await demo.answer_questionnaire(who, answers)

            started = time.perf_counter()
            await asyncio.gather(*(person(who) for who in ready.people))
            elapsed = time.perf_counter() - started
        shown = [_shown(stub.calls, who.chat) for who in ready.people]
    return CheckinRun(counted.updates, elapsed, sent.statements, sent.commits, shown)


async def tap_transaction_rate(users: int, database_url: str | None = None) -> tuple[int, float]:
    """The database work of check-in taps and nothing else: no Telegram, no logic. Each tap is the follow-up
    bot's transaction for it, through the same functions: the update claimed in its update scope with the
    update's one read (`onboarding.update_and_patient`: is it new, the patient, the questionnaire in progress and
    its answers), the answer stored (`checkin_answers.store_answer`, one INSERT), the move to the next item
    (`checkin_answers.move_to`, one UPDATE), COMMIT with the update's mark. Each person answers every item of the
    check-in once, as many taps at once as the bot handles updates at once (`bot.app.active_updates`)."""
    async with study(users, database_url) as ready:
        clock = ready.clock
        for who in ready.people:
            async with ready.sessions() as session:
                patient = await onboarding.patient_for_chat(session, chat_id=who.chat)
                assert patient is not None
                await checkins.start(session, patient=patient, form=FormKind.CHECKIN, now=clock.now())
        items = FORMS[FormKind.CHECKIN]
        update_ids = itertools.count(1)
        at_once = asyncio.Semaphore(active_updates(ready.sessions))

        async def tap(chat: int, item: Item, following: str | None) -> None:
            async with at_once, update_scope(ready.sessions) as scope:
                session, update_id = scope.session, next(update_ids)
                found: list[Patient | None] = []

                async def asking() -> bool:
                    handled_before, patient = await onboarding.update_and_patient(
                        session, update_id=update_id, chat_id=chat
                    )
                    found.append(patient)
                    return handled_before

                assert await scope.claim(update_id, clock.now(), asking)
                patient = found[0]
                assert patient is not None
                assert patient.questionnaire_in_progress is not None
                response = patient.questionnaire_in_progress
                rows = await answers_so_far(session, response)
                await store_answer(session, rows, response, item, "no", clock.now())
                await move_to(session, response, following, editing=False)
                await session.commit()

        async def person(chat: int) -> None:
            for item, following in zip(items, [*(item.id for item in items[1:]), None], strict=True):
                await tap(chat, item, following)

        started = time.perf_counter()
        await asyncio.gather(*(person(who.chat) for who in ready.people))
        return len(ready.people) * len(items), time.perf_counter() - started


class _StatementCounter:
    """Counts the statements and commits an engine sends from now on."""

    def __init__(self, engine: Engine) -> None:
        self.statements = self.commits = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *_args: object) -> None:
        self.statements += 1

    def _commit(self, *_args: object) -> None:
        self.commits += 1


class _Counter:
    """Counts the updates a harness hands to the Application."""

    def __init__(self, harness: Harness) -> None:
        self.updates = 0
        original = harness.handled

        async def counting(update_id: int, times: int = 1) -> None:
            self.updates += 1
            await original(update_id, times)

        harness.handled = counting  # type: ignore[method-assign]


def run(users: int, postgres_url: str | None = None, rounds: int = 3) -> dict[str, float]:
    best: dict[str, float] = {}
    statements: dict[str, float] = {}

    def keep(name: str, updates: int, seconds: float) -> None:
        best[name] = max(best.get(name, 0.0), updates / seconds)

    for _round in range(rounds):
        sqlite = asyncio.run(checkin_rate(users))
        keep("sqlite", sqlite.updates, sqlite.seconds)
        statements["sqlite"] = sqlite.statements / sqlite.updates
        statements["commits"] = sqlite.commits / sqlite.updates
        per_user = max(1, round(sqlite.updates / users))
        keep("echo", *asyncio.run(bare_rate(users, per_user)))
        keep("two_call", *asyncio.run(bare_rate(users, per_user, calls=2)))
        keep("tap_floor", *asyncio.run(tap_floor_rate(users, per_user, sqlite.shown)))
        keep("sqlite_transactions", *asyncio.run(tap_transaction_rate(users)))
        if postgres_url:
            postgres = asyncio.run(checkin_rate(users, postgres_url))
            keep("postgresql", postgres.updates, postgres.seconds)
            statements["postgresql"] = postgres.statements / postgres.updates
            keep("postgresql_transactions", *asyncio.run(tap_transaction_rate(users, postgres_url)))
    echo, floor, taps = best["echo"], best["two_call"], best["tap_floor"]
    figures: dict[str, float] = {
        "users": users,
        "rounds": rounds,
        "checkin_updates": sqlite.updates,
        "statements_per_update": round(statements["sqlite"], 2),
        "commits_per_update": round(statements["commits"], 2),
        "echo_updates_per_second": round(echo, 1),
        "two_call_bot_updates_per_second": round(floor, 1),
        "two_call_bot_ratio": round(floor / echo, 3),
        "tap_floor_bot_updates_per_second": round(taps, 1),
        "tap_floor_bot_ratio": round(taps / echo, 3),
        "tap_floor_bot_to_two_call_bot": round(taps / floor, 3),
    }
    for database, prefix in (("sqlite", ""), ("postgresql", "postgresql_")):
        if database not in best:
            continue
        checkins, transactions = best[database], best[f"{database}_transactions"]
        if prefix:
            figures["postgresql_checkin_updates_per_second"] = round(checkins, 1)
            figures["postgresql_statements_per_update"] = round(statements["postgresql"], 2)
        else:
            figures["checkin_updates_per_second"] = round(checkins, 1)
        figures[f"{prefix}ratio"] = round(checkins / echo, 3)
        figures[f"{prefix}ratio_to_two_call_bot"] = round(checkins / floor, 3)
        figures[f"{prefix}ratio_to_tap_floor_bot"] = round(checkins / taps, 3)
        # The taps' transactions alone: what each costs as a share of the two-call bot's whole update, and the
        # ratio a bot would reach whose updates cost the two-call bot's work plus that transaction, nothing else.
        figures[f"{prefix}tap_transactions_per_second"] = round(transactions, 1)
        figures[f"{prefix}tap_transaction_to_two_call_update"] = round(floor / transactions, 3)
        figures[f"{prefix}ceiling_ratio_to_two_call_bot"] = round(transactions / (transactions + floor), 3)
    return figures
