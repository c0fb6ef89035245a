"""The callback codec: every kind of tap survives the trip through Telegram, anything else is refused (None,
never an exception); and a forged tap through the real Application is answered and changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.callbacks import (
    DATA_LIMIT,
    KINDS,
    RECORD_ID_MAX,
    Alert,
    AlertsPage,
    Back,
    Button,
    Choose,
    ChooseLanguage,
    Consent,
    Dose,
    EditAnswers,
    EditItem,
    InfectionForm,
    OverduePage,
    ReminderTime,
    StartCheckin,
    StartReport,
    Stop,
    StopChoice,
    Submit,
    Tap,
    decode,
    pattern,
    rows_payload,
)
from bot.clock import FakeClock
from bot.db import session_factory
from bot.delivery.outbox import enqueue
from bot.i18n import languages
from bot.protocol import StudyProtocol
from bot.services.doses import DoseAnswer
from bot.simulator.bot_api import BotApiStub
from bot.simulator.harness import Harness
from models import DismissalReason, Patient, PatientStatus
from tests.bot_fixtures import FakeSleep, dispatcher, enrolled

IDS = st.integers(1, RECORD_ID_MAX)
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True)
VALUES = st.from_regex(r"[A-Za-z0-9_.:-]{1,32}", fullmatch=True)
PAGES = st.integers(0, 9999)

TAPS: st.SearchStrategy[Tap] = st.one_of(
    st.builds(Consent, st.booleans()),
    st.builds(ReminderTime, st.builds(time, st.integers(0, 23), st.integers(0, 59))),
    st.builds(Choose, IDS, NAMES, VALUES),
    st.builds(Back, IDS),
    st.builds(Submit, IDS),
    st.builds(EditAnswers, IDS),
    st.builds(EditItem, IDS, NAMES),
    st.just(StartCheckin()),
    st.just(StartReport()),
    st.builds(Dose, IDS, st.sampled_from(DoseAnswer)),
    st.builds(ChooseLanguage, st.sampled_from(languages())),
    st.builds(Stop, st.sampled_from(StopChoice)),
    st.builds(Alert, IDS, st.sampled_from(Alert.ACTIONS)),
    st.builds(lambda escalation_id, reason: Alert(escalation_id, "no", reason), IDS, st.sampled_from(DismissalReason)),
    st.builds(InfectionForm, st.sampled_from(InfectionForm.CONTROLS)),
    st.builds(InfectionForm, st.just("edit"), NAMES),
    st.builds(InfectionForm, NAMES.filter(lambda name: name not in ("edit", *InfectionForm.CONTROLS)), VALUES),
    st.builds(AlertsPage, PAGES),
    st.builds(OverduePage, PAGES),
)


@given(TAPS)
def test_it_round_trips_every_kind_of_tap(tap: Tap) -> None:
    data = tap.data()
    assert len(data.encode()) <= DATA_LIMIT
    assert decode(data) == tap
    assert re.match(pattern(type(tap)), data)


ONE_OF_EACH = [
    Consent(agree=True),
    ReminderTime(time(21, 30)),
    Choose(1, "max_temp", "38.5"),
    Back(1),
    Submit(1),
    EditAnswers(1),
    EditItem(1, "fever"),
    StartCheckin(),
    StartReport(),
    Dose(1, DoseAnswer.TAKEN),
    ChooseLanguage("en"),
    Stop(StopChoice.CONTACT),
    Alert(1, "confirm"),
    InfectionForm("ctcae_grade", "3"),
    AlertsPage(1),
    OverduePage(1),
]


def test_it_knows_every_kind_of_tap_by_its_prefix() -> None:
    assert {type(tap) for tap in ONE_OF_EACH} == set(KINDS.values())
    assert all(decode(tap.data()) == tap for tap in ONE_OF_EACH)


@given(st.one_of(st.text(max_size=80), st.binary(max_size=80), st.none(), st.integers()))
def test_it_never_raises_on_anything(data: object) -> None:
    tap = decode(data)
    assert tap is None or tap.data() == data


@pytest.mark.parametrize(
    "data",
    [
        "consent|maybe",
        "consent|yes|yes",
        "time|25:00",
        "time|09:00:00",
        "q|0|fever|yes",
        "q|2147483648|fever|yes",
        "q|１|fever|yes",
        "q|1|Fever|yes",
        "q|1|fever|",
        "q|1|fever|yes|no",
        "qb|-1",
        "qs|",
        "qi|1|",
        "checkin|go",
        "dose|1|eaten",
        "dose|٣|taken",
        "lang|fr",
        "stop|everything",
        "esc|1|no:",
        "esc|1|no:nonsense",
        "esc|1|delete",
        "inf|save|now",
        "inf|edit|",
        "inf|Grade|3",
        "alerts|12345",
        "overdue|-1",
        "unknown|1",
        "consent",
        "",
        "esc|" + "1" * 70,
    ],
)
def test_it_refuses_malformed_and_forged_data(data: str) -> None:
    assert decode(data) is None


def test_it_refuses_data_over_telegrams_64_bytes() -> None:
    assert decode("q|1|fever|" + "9" * 55) is None
    with pytest.raises(ValueError, match="64 bytes"):
        Choose(RECORD_ID_MAX, "a" * 32, "x" * 32).data()


def test_it_keeps_the_wire_strings_of_buttons_already_sent() -> None:
    assert Alert(7, "ack").data() == "esc|7|ack"
    assert Alert(7, "no", DismissalReason.SLE_FLARE).data() == "esc|7|no:sle_flare"
    assert Dose(3, DoseAnswer.LATER).data() == "dose|3|later"
    assert StartCheckin().data() == "checkin|start"
    assert InfectionForm("save").data() == "inf|save|"
    assert ReminderTime(time(8)).data() == "time|08:00"


async def test_it_answers_and_ignores_a_forged_stop_button(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol
) -> None:
    chat = 8_400_001
    invite = await enrolled(engine, protocol, FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)), study_id="F0001")
    await bot.send(chat, f"/start {invite.code}")
    await bot.tap(chat, "我同意")
    await bot.tap(chat, "09:00")
    await bot.send(chat, "/stop")
    stop_message, _data = bot.stub.find_button(chat, "退出研究")
    shown = bot.stub.screen(chat)[-1].text
    calls = len(bot.stub.calls)

    await bot.tap_data(chat, stop_message, "stop|consent|now")

    methods = [call.method for call in bot.stub.calls[calls:]]
    assert methods.count("answerCallbackQuery") == 1
    assert not [method for method in methods if method.startswith(("edit", "send"))]
    assert bot.stub.screen(chat)[-1].text == shown
    async with session_factory(engine)() as session:
        patient = await session.scalar(select(Patient).where(Patient.study_id == "F0001"))
        assert patient is not None
        assert patient.status is PatientStatus.ACTIVE


async def test_the_sender_draws_stored_buttons_and_those_of_rows_queued_before_the_upgrade(
    engine: AsyncEngine, stub: BotApiStub, clock: FakeClock
) -> None:
    telegram = Bot(stub.token, base_url=stub.base_url)
    await telegram.initialize()
    rows = [[Button("👀 Acknowledge", Alert(5, "ack"))]]
    async with session_factory(engine)() as session:
        await enqueue(
            session,
            dedupe_key="new",
            chat_id=1,
            payload={"text": "new", "buttons": rows_payload(rows)},
            now=clock.now(),
        )
        legacy = {"inline_keyboard": [[{"text": "👀 Acknowledge", "callback_data": "esc|5|ack"}]]}
        await enqueue(
            session, dedupe_key="old", chat_id=2, payload={"text": "old", "reply_markup": legacy}, now=clock.now()
        )
        await session.commit()
    worker = dispatcher(engine, telegram, clock, FakeSleep(clock))
    assert await worker.drain() == 2
    await telegram.shutdown()
    assert stub.screen(1)[-1].buttons == [("👀 Acknowledge", "esc|5|ack")]
    assert stub.screen(2)[-1].buttons == [("👀 Acknowledge", "esc|5|ack")]
