"""(a) Incoming updates per second for complete monthly check-ins, through the real Application and the loopback
Bot API, as a ratio against a bare python-telegram-bot echo bot on the same stub, in the same run.

Both face the same load: `users` people at once, each waiting for the bot's answer before the next update.
The follow-up bot runs on a durable SQLite file (fsync on every commit), as a small site would run it, and,
given a PostgreSQL URL, on PostgreSQL as well (where it handles updates from different chats concurrently).
Each configuration runs `rounds` times, interleaved, and its best round counts: on a shared machine the best
round is the one least disturbed by other work, for every configuration alike.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, event
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bench.databases import fresh
from bot.app import build_application
from bot.clock import FakeClock
from bot.config import SHIPPED_PROTOCOL, load_settings
from bot.db import create_engine, session_factory
from bot.forms import ITEMS
from bot.i18n import DEFAULT_LANGUAGE, gettext_for
from bot.protocol import load_protocol
from bot.services import onboarding
from bot.services.checkins import AskItem
from bot.services.enrollment import EnrollmentRequest, enroll_patient
from bot.services.sites import add_site
from bot.simulator.bot_api import BotApiStub
from bot.simulator.demo import Demo, Person
from bot.simulator.harness import Harness, running
from handlers.render import view

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


def _a_question() -> tuple[str, InlineKeyboardMarkup]:
    """What a check-in tap shows, in the patients' default language: the answer just taken and the next question
    with its buttons (the follow-up bot's own rendering of a yes/no item, so the payloads are the same size)."""
    step = AskItem(
        response_id=1, item=ITEMS["doctor_visit"], number=3, total=13, recorded=(ITEMS["symptoms"], ["none"])
    )
    return view(step, gettext_for(DEFAULT_LANGUAGE))


async def tap_floor_rate(users: int, per_user: int) -> tuple[int, float]:
    """A bare python-telegram-bot bot (its defaults) doing what a check-in asks of a bot and nothing else: a
    message opens a question (one sendMessage with its keyboard) and each tap on it is answered and the question
    edited in place (answerCallbackQuery and editMessageText at once, the same text and keyboard each time).
    Each person sends one message, then taps a button of the newest question, `per_user` updates in all: the
    updates the check-in run sends, a command then taps, against the same stub, with no database and no logic."""
    text, keyboard = _a_question()

    async def ask(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(text, reply_markup=keyboard)

    async def answer_and_edit(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await asyncio.gather(query.answer(), query.edit_message_text(text, reply_markup=keyboard))

    async with BotApiStub() as stub:
        application = ApplicationBuilder().token(stub.token).base_url(stub.base_url).build()
        application.add_handler(MessageHandler(filters.TEXT, ask))
        application.add_handler(CallbackQueryHandler(answer_and_edit))
        async with running(stub, application) as harness:  # type: ignore[arg-type]

            async def person(chat: int) -> None:
                await harness.send(chat, "/checkin")
                for _tap in range(per_user - 1):
                    shown = stub.screen(chat)[-1]
                    await harness.tap_data(chat, shown.message_id, shown.buttons[0][1])

            started = time.perf_counter()
            await asyncio.gather(*(person(1000 + user) for user in range(users)))
            return users * per_user, time.perf_counter() - started


@dataclass(frozen=True)
class CheckinRun:
    updates: int
    seconds: float
    statements: int  # SQL statements sent to the database while the check-ins ran
    commits: int


async def checkin_rate(users: int, database_url: str | None = None) -> CheckinRun:
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        fresh(url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        protocol = load_protocol(SHIPPED_PROTOCOL)
        clock = FakeClock(ENROLLED)
        async with BotApiStub() as stub:
            settings = load_settings(
                telegram_token=stub.token, telegram_api_url=stub.base_url, bot_username="bench_bot"
            )
            application = build_application(settings=settings, protocol=protocol, clock=clock, sessions=sessions)
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
            sent = _StatementCounter(engine.sync_engine)
            async with running(stub, application) as harness:
                demo = Demo(harness, clock, random.Random(1))
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
                await asyncio.gather(*(person(who) for who in people))
                elapsed = time.perf_counter() - started
        await engine.dispose()
        return CheckinRun(counted.updates, elapsed, sent.statements, sent.commits)


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
        keep("tap_floor", *asyncio.run(tap_floor_rate(users, per_user)))
        if postgres_url:
            postgres = asyncio.run(checkin_rate(users, postgres_url))
            keep("postgresql", postgres.updates, postgres.seconds)
            statements["postgresql"] = postgres.statements / postgres.updates
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
        "checkin_updates_per_second": round(best["sqlite"], 1),
        "ratio": round(best["sqlite"] / echo, 3),
        "ratio_to_two_call_bot": round(best["sqlite"] / floor, 3),
        "ratio_to_tap_floor_bot": round(best["sqlite"] / taps, 3),
    }
    if postgres_url:
        figures["postgresql_checkin_updates_per_second"] = round(best["postgresql"], 1)
        figures["postgresql_statements_per_update"] = round(statements["postgresql"], 2)
        figures["postgresql_ratio"] = round(best["postgresql"] / echo, 3)
        figures["postgresql_ratio_to_two_call_bot"] = round(best["postgresql"] / floor, 3)
        figures["postgresql_ratio_to_tap_floor_bot"] = round(best["postgresql"] / taps, 3)
    return figures
