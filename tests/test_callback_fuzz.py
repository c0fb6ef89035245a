"""Callback data are untrusted: random and malformed data sent to every button handler, by a patient, a
clinician and a stranger, through the real Application. Each query is answered once; no handler raises."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import CallbackQueryHandler

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.services.sites import add_staff
from bot.simulator.harness import Harness
from models import Staff, StaffRole
from tests.bot_fixtures import enrolled

# One well-formed example per kind of button the bot shows; the fuzzer bends them.
SEEDS = [
    "consent|yes",
    "time|09:00",
    "checkin|start",
    "report|start",
    "q|1|fever|yes",
    "qb|1",
    "qs|1",
    "qe|1",
    "qi|1|fever",
    "dose|1|taken",
    "lang|en",
    "stop|no",
    "stop|contact",
    "esc|1|ack",
    "esc|1|confirm",
    "esc|1|dismiss",
    "esc|1|no:sle_flare",
    "inf|site_type|pneumonia",
    "inf|cancel|",
    "inf|edit|outcome",
    "inf|treatments|done",
    "alerts|1",
    "overdue|1",
]
NUMBERS = st.one_of(
    st.sampled_from(["99999999999999999999999", "9223372036854775808", "2147483648", "-1", "0", "-0", "1e5"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
JUNK = st.one_of(
    st.sampled_from(["", "٣", "１", "²", "NaN", " 1", "1 ", "x" * 40, "\x00", "|", "🤒"]),
    st.text(max_size=12),
)
HOSTILE = st.one_of(NUMBERS, JUNK)


@st.composite
def callback_data(draw: st.DrawFn) -> str:
    """A seed whose fields after the prefix are replaced or appended (one to three), sometimes cut short, within
    Telegram's 64 bytes. (Garbage prefixes come from the plain-text branch of DATA.)"""
    fields = draw(st.sampled_from(SEEDS)).split("|")
    for index in draw(st.lists(st.integers(1, len(fields)), min_size=1, max_size=3, unique=True)):
        if index < len(fields):
            fields[index] = draw(HOSTILE)
        else:
            fields.append(draw(HOSTILE))
    if draw(st.integers(0, 4)) == 0:
        fields = fields[: draw(st.integers(1, len(fields)))]
    data = "|".join(fields)
    return data.encode("utf-8")[:64].decode("utf-8", "ignore") or "|"


ANY_TEXT = st.text(min_size=1, max_size=64).filter(lambda text: len(text.encode()) <= 64)
DATA = st.one_of(callback_data(), callback_data(), callback_data(), ANY_TEXT)


@pytest.fixture
def raised(bot: Harness) -> list[BaseException]:
    """Every exception that reaches the Application's error handlers during the test."""
    errors: list[BaseException] = []

    async def record(_update: object, context: object) -> None:
        errors.append(getattr(context, "error", None) or RuntimeError("unknown"))

    bot.application.add_error_handler(record)
    return errors


def test_it_has_a_seed_for_every_button_handler(bot: Harness) -> None:
    handlers = [h for group in bot.application.handlers.values() for h in group if isinstance(h, CallbackQueryHandler)]
    *patterned, catch_all = handlers
    assert catch_all.pattern is None, "the last button handler answers whatever the others do not"
    for handler in patterned:
        assert handler.pattern is not None
        assert any(handler.pattern.match(seed) for seed in SEEDS), handler.callback.__name__  # type: ignore[union-attr]


@pytest.fixture
async def personas(bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock) -> dict[str, int]:
    """A patient in the middle of a check-in, a linked clinician of the patient's site, and a stranger."""
    patient, clinician, stranger = 8_000_001, 8_100_001, 8_200_001
    clock.set(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    invite = await enrolled(engine, protocol, clock, study_id="C0001")
    await bot.send(patient, f"/start {invite.code}")
    await bot.tap(patient, "我同意")
    clock.set(datetime(2026, 4, 2, 2, 0, tzinfo=UTC))
    await bot.send(patient, "/checkin")
    async with session_factory(engine)() as session:
        staff, _code = await add_staff(
            session,
            site_code="PKU",
            role=StaffRole.CLINICIAN,
            name="Dr Fuzz",
            actor="cli:coordinator",
            now=clock.now(),
            invite_valid_days=7,
        )
        await session.execute(update(Staff).where(Staff.id == staff.id).values(telegram_user_id=clinician))
        await session.commit()
    await bot.send(clinician, "/alerts", language="en")
    await bot.send(stranger, "hello", language="en")
    return {"patient": patient, "clinician": clinician, "stranger": stranger}


@example(taps=["esc|99999999999999999999999|ack"])
@example(taps=["esc|2147483648|dismiss", "esc|١|confirm", "esc|²|ack"])
@example(taps=["dose|99999999999999999999999|taken", "q|99999999999999999999999|fever|yes"])
@example(taps=["qi|99999999999999999999999|fever", "qb|-1", "qs|" + "9" * 30])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(taps=st.lists(DATA, min_size=1, max_size=3))
async def test_it_answers_and_ignores_any_callback_data(
    bot: Harness, personas: dict[str, int], raised: list[BaseException], taps: list[str]
) -> None:
    for data in taps:
        for who, chat in personas.items():
            shown = bot.stub.screen(chat)
            message_id = shown[-1].message_id if shown else 1
            answers = len([call for call in bot.stub.calls if call.method == "answerCallbackQuery"])
            await bot.tap_data(chat, message_id, data)
            answered = [call for call in bot.stub.calls if call.method == "answerCallbackQuery"]
            assert len(answered) == answers + 1, f"{who} tapped {data!r}: answered {len(answered) - answers} times"
    assert raised == []


async def test_it_ignores_a_reminder_time_button_after_the_patient_stopped(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, raised: list[BaseException]
) -> None:
    chat = 8_300_001
    invite = await enrolled(engine, protocol, FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)), study_id="C0002")
    await bot.send(chat, f"/start {invite.code}")
    await bot.tap(chat, "我同意")
    time_message, time_data = bot.stub.find_button(chat, "09:00")
    await bot.send(chat, "/stop")
    stop_message, stop_data = bot.stub.find_button(chat, "退出研究")
    await bot.tap_data(chat, stop_message, stop_data)
    answers = len([call for call in bot.stub.calls if call.method == "answerCallbackQuery"])
    await bot.tap_data(chat, time_message, time_data)
    assert len([call for call in bot.stub.calls if call.method == "answerCallbackQuery"]) == answers + 1
    assert raised == []
