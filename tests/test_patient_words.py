"""A patient's own words are never ignored; ended follow-up still gets help; numbers on every screen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.scheduler import Jobs
from bot.services.sites import add_staff
from bot.simulator.bot_api import BotApiStub
from bot.simulator.harness import Harness
from models import Answer, Escalation, MessageKind, Patient, PatientMessage, PatientStatus, StaffRole, TriageLevel
from tests.bot_fixtures import FakeSleep, dispatcher, enrolled
from tests.factories import make_site
from tests.test_patient_bot import onboard, open_checkin_month_1, staff_invite

PATIENT, CLINICIAN, COORDINATOR, OTHER_SITE = 300, 301, 302, 303
PHONE = "+86 10 8888 0000"
WORDS = "我现在发烧40度，喘不上气，住院了"


@dataclass
class Study:
    bot: Harness
    jobs: Jobs
    engine: AsyncEngine
    clock: FakeClock
    code: str  # S001's invite

    async def messages(self) -> list[PatientMessage]:
        async with session_factory(self.engine)() as session:
            return list(await session.scalars(select(PatientMessage).order_by(PatientMessage.id)))

    async def escalations(self) -> list[Escalation]:
        async with session_factory(self.engine)() as session:
            return list(await session.scalars(select(Escalation)))


@pytest.fixture(name="study")
async def study_fixture(
    bot: Harness, engine: AsyncEngine, stub: BotApiStub, clock: FakeClock, protocol: StudyProtocol
) -> AsyncIterator[Study]:
    """A Chinese-speaking patient (not yet linked), a clinician and a coordinator at PKU, a clinician at BER."""
    invite = await enrolled(engine, protocol, clock, study_id="S001")
    async with session_factory(engine)() as session:
        await make_site(session, clock, code="BER", timezone="Europe/Berlin")
    for chat, role in ((CLINICIAN, StaffRole.CLINICIAN), (COORDINATOR, StaffRole.COORDINATOR)):
        await bot.send(chat, f"/start {await staff_invite(engine, clock, role, f'Staff {chat}')}", language="en")
    async with session_factory(engine)() as session:
        _staff, code = await add_staff(
            session,
            site_code="BER",
            role=StaffRole.CLINICIAN,
            name="Dr Berg",
            actor="cli:test",
            now=clock.now(),
            invite_valid_days=7,
        )
    await bot.send(OTHER_SITE, f"/start {code}", language="en")
    async with Bot(stub.token, base_url=stub.base_url) as telegram:
        sessions = session_factory(engine)
        outbox = dispatcher(engine, telegram, clock, FakeSleep(clock))
        jobs = Jobs(sessions=sessions, protocol=protocol, clock=clock, dispatcher=outbox)
        yield Study(bot, jobs, engine, clock, invite.code)


async def onboarded(study: Study) -> None:
    await onboard(study.bot, study.code, chat=PATIENT)


async def test_it_raises_the_alarm_on_red_flag_words(study: Study) -> None:
    bot = study.bot
    await onboarded(study)
    before = len(bot.stub.texts_to(PATIENT))
    await bot.send(PATIENT, WORDS)
    await study.jobs.tick()
    after = bot.stub.texts_to(PATIENT)[before:]
    assert after[0].startswith("⚠️"), "the advice first: no reply in front of it"
    assert "120" in after[0]
    assert PHONE in after[0]
    alerts = [text for text in bot.stub.texts_to(CLINICIAN) if "S001" in text]
    assert len(alerts) == 1
    assert WORDS in alerts[0]
    assert not [text for text in bot.stub.texts_to(OTHER_SITE) if "S001" in text], "another site sees nothing"
    (message,) = await study.messages()
    assert (message.kind, message.text, message.red_flags) == (MessageKind.TEXT, WORDS, ["喘不上气", "40.0 °C"])
    (escalation,) = await study.escalations()
    assert escalation.level is TriageLevel.URGENT
    assert escalation.reasons == ["patient_message"]
    assert escalation.patient_message_id == message.id


async def test_it_records_a_voice_message_and_offers_the_report(study: Study) -> None:
    bot = study.bot
    await onboarded(study)
    await bot.handled(bot.stub.user_sends_voice(PATIENT))
    reply = bot.stub.screen(PATIENT)[-1]
    assert "120" in reply.text
    assert PHONE in reply.text
    assert [label for label, _data in reply.buttons] == ["🆘 我现在不舒服"]
    (message,) = await study.messages()
    assert (message.kind, message.text, message.red_flags) == (MessageKind.VOICE, None, [])
    await bot.tap(PATIENT, "我现在不舒服")
    assert bot.last_text(PATIENT).startswith("(1/3) 您现在发烧吗")
    assert await study.escalations() == []


async def test_it_shows_harmless_words_in_alerts_and_the_digest_without_an_alert(study: Study) -> None:
    bot = study.bot
    await onboarded(study)
    await bot.send(PATIENT, "谢谢")
    assert "研究团队会看到" in bot.last_text(PATIENT)
    (message,) = await study.messages()
    assert (message.text, message.red_flags) == ("谢谢", [])
    assert await study.escalations() == []
    await bot.send(CLINICIAN, "/alerts")
    assert bot.last_text(CLINICIAN).startswith("💬 Recent messages from patients:")
    assert "S001 (PKU)" in bot.last_text(CLINICIAN)
    assert "“谢谢”" in bot.last_text(CLINICIAN)
    await bot.send(OTHER_SITE, "/alerts")
    assert bot.last_text(OTHER_SITE) == "No open alerts.", "staff see only their own site"
    study.clock.advance(timedelta(days=1))
    await study.jobs.tick()
    digest = bot.stub.texts_to(COORDINATOR)[-1]
    assert digest.startswith("📰 Daily digest for PKU")
    assert "• patient message from S001: “谢谢”" in digest
    assert not [text for text in bot.stub.texts_to(CLINICIAN) if "URGENT" in text]


async def test_it_raises_the_alarm_for_red_flags_typed_into_a_question(study: Study) -> None:
    bot = study.bot
    await onboarded(study)
    await open_checkin_month_1(study.clock)
    await bot.send(PATIENT, "/checkin")
    await bot.tap(PATIENT, "没有")  # fever; now the symptoms, which are tapped
    question = bot.last_text(PATIENT)
    before = len(bot.stub.texts_to(PATIENT))
    await bot.send(PATIENT, "胸口痛得厉害")
    assert len(bot.stub.texts_to(PATIENT)) == before, "no re-prompt in front of the advice"
    await study.jobs.tick()
    advice = bot.stub.texts_to(PATIENT)[before]
    assert advice.startswith("⚠️")
    assert "120" in advice
    assert bot.stub.screen(PATIENT)[before - 1].text == question, "the question stays as it was"
    (message,) = await study.messages()
    assert message.red_flags == ["胸口痛"]
    (escalation,) = await study.escalations()
    assert escalation.patient_message_id == message.id


async def test_it_gives_help_to_a_patient_whose_follow_up_ended(study: Study) -> None:
    bot = study.bot
    await onboarded(study)
    await bot.send(PATIENT, "/stop")
    await bot.tap(PATIENT, "退出研究")
    await study.jobs.tick()
    await bot.send(PATIENT, "谢谢")
    assert "120" in bot.last_text(PATIENT)
    assert PHONE in bot.last_text(PATIENT)
    (thanks,) = await study.messages()
    await bot.send(PATIENT, "/report")
    await study.jobs.tick()
    assert bot.stub.texts_to(PATIENT)[-1].startswith("⚠️")
    assert "120" in bot.stub.texts_to(PATIENT)[-1]
    for chat in (CLINICIAN, COORDINATOR):
        notices = [text for text in bot.stub.texts_to(chat) if text.startswith("📨 S001")]
        assert len(notices) == 2
        assert "“谢谢”" in notices[0]
        assert "I feel unwell now" in notices[1]
    assert [message.text for message in await study.messages()] == ["谢谢", "/report"]
    await bot.send(PATIENT, WORDS)
    await study.jobs.tick()
    (escalation,) = await study.escalations()
    assert escalation.level is TriageLevel.URGENT
    assert any(WORDS in text for text in bot.stub.texts_to(CLINICIAN))
    assert thanks.text == "谢谢"


async def test_it_helps_someone_who_did_not_consent_but_stores_nothing_else(study: Study) -> None:
    bot = study.bot
    await bot.send(PATIENT, f"/start {study.code}")
    await bot.tap(PATIENT, "我不同意")
    await bot.send(PATIENT, "你好")
    assert "120" in bot.last_text(PATIENT)
    assert await study.messages() == []
    await bot.send(PATIENT, "/report")
    await study.jobs.tick()
    assert bot.stub.texts_to(PATIENT)[-1].startswith("⚠️")
    assert "(1/" not in bot.last_text(PATIENT), "no study questions"
    await bot.send(PATIENT, "救命，叫不醒")
    await study.jobs.tick()
    (message,) = await study.messages()
    assert message.red_flags == ["叫不醒", "救命"]
    (escalation,) = await study.escalations()
    assert escalation.patient_message_id == message.id
    async with session_factory(study.engine)() as session:
        patient = await session.scalar(select(Patient))
    assert patient is not None
    assert patient.status is PatientStatus.DECLINED


async def test_it_shows_both_numbers_on_the_consent_screen_the_welcome_and_help(study: Study) -> None:
    bot = study.bot
    await bot.send(PATIENT, f"/start {study.code}")
    for screen in ("consent", "welcome", "help"):
        if screen == "welcome":
            await bot.tap(PATIENT, "我同意")
            await bot.tap(PATIENT, "09:00")
        if screen == "help":
            await bot.send(PATIENT, "/help")
        assert "120" in bot.last_text(PATIENT), screen
        assert PHONE in bot.last_text(PATIENT), screen


async def test_it_raises_the_alarm_for_red_flags_typed_at_the_time_prompt(study: Study) -> None:
    bot = study.bot
    await bot.send(PATIENT, f"/start {study.code}")
    await bot.tap(PATIENT, "我同意")
    await bot.send(PATIENT, "12点")
    assert bot.last_text(PATIENT).startswith("请点一个时间"), "not a time, not alarming: asked again"
    await bot.send(PATIENT, "胸痛，喘不过气")
    await study.jobs.tick()
    (message,) = await study.messages()
    assert message.red_flags == ["喘不过气", "胸痛"]
    (escalation,) = await study.escalations()
    assert escalation.patient_message_id == message.id
    assert any(text.startswith("⚠️") and "120" in text for text in bot.stub.texts_to(PATIENT))


async def test_it_lists_the_newest_patient_messages_first_and_only_a_few(study: Study) -> None:
    bot = study.bot
    await onboarded(study)
    for number in range(12):
        study.clock.advance(timedelta(minutes=1))
        await bot.send(PATIENT, f"消息{number}")
    await bot.handled(bot.stub.user_sends_sticker(PATIENT))
    await bot.send(CLINICIAN, "/alerts")
    lines = bot.last_text(CLINICIAN).splitlines()[1:]
    assert len(lines) == 10
    assert lines[0].endswith(": sticker")
    assert [line.rsplit(": ", 1)[1] for line in lines[1:]] == [f"“消息{number}”" for number in range(11, 2, -1)]


async def test_it_gives_the_numbers_to_a_patient_whose_follow_up_ended_on_any_command(study: Study) -> None:
    bot = study.bot
    await onboarded(study)
    await bot.send(PATIENT, "/stop")
    await bot.tap(PATIENT, "退出研究")
    await bot.send(PATIENT, "/checkin")
    assert "随访已经结束" in bot.last_text(PATIENT)
    assert PHONE in bot.last_text(PATIENT)


async def test_it_raises_the_alarm_for_red_flags_in_a_free_text_answer(study: Study) -> None:
    bot = study.bot
    await onboarded(study)
    await open_checkin_month_1(study.clock)
    await bot.send(PATIENT, "/checkin")
    for label in ["没有", "都没有", "没有", "没有", "没有", "没有"]:
        await bot.tap(PATIENT, label)
    await bot.tap(PATIENT, "有")  # a test found a germ: which one? (free text)
    await bot.send(PATIENT, "肺炎，现在喘不上气")
    await study.jobs.tick()
    async with session_factory(study.engine)() as session:
        organism = await session.scalar(select(Answer.value).where(Answer.item_id == "organism"))
    assert organism == "肺炎，现在喘不上气"
    (message,) = await study.messages()
    assert message.red_flags == ["喘不上气"]
    (escalation,) = await study.escalations()
    assert escalation.patient_message_id == message.id
    assert any(text.startswith("⚠️") and "120" in text for text in bot.stub.texts_to(PATIENT))


async def test_it_takes_a_high_temperature_typed_as_the_answer_without_a_second_advice(study: Study) -> None:
    bot = study.bot
    await onboarded(study)
    await open_checkin_month_1(study.clock)
    await bot.send(PATIENT, "/checkin")
    await bot.tap(PATIENT, "有")
    await bot.send(PATIENT, "40度")
    await study.jobs.tick()
    assert await study.messages() == [], "an answer, not a message"
    assert len([text for text in bot.stub.texts_to(PATIENT) if text.startswith("⚠️")]) == 1
    (escalation,) = await study.escalations()
    assert escalation.response_id is not None
