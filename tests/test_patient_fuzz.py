"""Whatever a patient sends, no handler crashes and no invalid value is stored (property-based)."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.services.triage import Answers
from bot.simulator.harness import Harness
from models import Answer, Patient, QuestionnaireResponse
from tests.bot_fixtures import enrolled

TYPED = st.one_of(
    st.text(min_size=1, max_size=40),
    st.sampled_from(
        [
            "38,5",
            "abc",
            "٣٨",
            "-1",
            "1e9",
            "NaN",
            "inf",
            "42.6",
            "94",
            "101.3°F",
            "3天",
            "x" * 5000,
            "🤒🤒",
            "/checkin",
            "/report",
            "/start",
            "/stop",
            "/time",
            "/doses",
            "/language",
            "/help",
            "/start bogus",
            "25:00",
        ]
    ),
)
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("text"), TYPED),
        st.tuples(st.just("tap"), st.integers(0, 30)),
        st.tuples(st.just("old_tap"), st.integers(0, 300)),
        st.tuples(st.just("sticker"), st.none()),
    ),
    max_size=30,
)
patients = itertools.count(1)


class ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@pytest.fixture
def errors() -> ErrorCounter:
    counter = ErrorCounter()
    logging.getLogger().addHandler(counter)
    yield counter  # type: ignore[misc]
    logging.getLogger().removeHandler(counter)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS, language=st.sampled_from(["zh_CN", "en"]), group=st.sampled_from(["il2", "control"]))
async def test_it_never_crashes_or_stores_an_invalid_answer(
    bot: Harness,
    engine: AsyncEngine,
    protocol: StudyProtocol,
    clock: FakeClock,
    errors: ErrorCounter,
    actions: list[tuple[str, object]],
    language: str,
    group: str,
) -> None:
    number = next(patients)
    chat = 9_000_000 + number
    clock.set(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    invite = await enrolled(engine, protocol, clock, study_id=f"F{number:04d}", group=group, language=language)
    await bot.send(chat, f"/start {invite.code}")
    await bot.tap(chat, "我同意" if language == "zh_CN" else "I agree")
    clock.set(datetime(2026, 4, 2, 2, 0, tzinfo=UTC))  # month 1 is open
    await bot.send(chat, "/checkin")
    for kind, value in actions:
        if kind == "text":
            await bot.send(chat, str(value))
        elif kind == "sticker":
            await bot.handled(bot.stub.user_sends_sticker(chat))
        else:
            screen = [message for message in bot.stub.screen(chat) if message.buttons]
            if not screen:
                continue
            message = screen[-1] if kind == "tap" else screen[int(str(value)) % len(screen)]
            _label, data = message.buttons[int(str(value)) % len(message.buttons)]
            await bot.tap_data(chat, message.message_id, data)
    await bot.send(chat, "/help")
    assert errors.count == 0
    async with session_factory(engine)() as session:
        patient = await session.scalar(select(Patient).where(Patient.study_id == f"F{number:04d}"))
        assert patient is not None
        rows = await session.scalars(
            select(Answer).join(QuestionnaireResponse).where(QuestionnaireResponse.patient_id == patient.id)
        )
        for row in rows:
            if row.value is not None:
                Answers.model_validate({row.item_id: row.value})  # raises on anything invalid
