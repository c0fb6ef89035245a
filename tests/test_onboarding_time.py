"""Onboarding before contacts: check-ins and dose reminders wait for the reminder time (chosen, or the default
after the protocol's delay); typed text answers the prompt the patient saw last."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select

from bot.db import session_factory
from bot.protocol import StudyProtocol
from models import Answer, Patient
from tests.bot_fixtures import enrolled
from tests.test_patient_words import Study, study_fixture  # noqa: F401 - the `study` fixture

LATE = 310  # a patient enrolled a month ago, whose month-1 check-in is open when they first open the bot


async def consented_late(study: Study, protocol: StudyProtocol) -> None:
    invite = await enrolled(study.engine, protocol, study.clock, study_id="S002", enrolled_on=date(2026, 2, 1))
    await study.bot.send(LATE, f"/start {invite.code}")
    await study.bot.tap(LATE, "我同意")
    assert "几点提醒您" in study.bot.last_text(LATE)


def checkins_sent(study: Study) -> list[str]:
    return [text for text in study.bot.stub.texts_to(LATE) if "该做每月随访了" in text]


async def test_it_sends_check_ins_only_once_the_reminder_time_is_chosen(study: Study, protocol: StudyProtocol) -> None:
    await consented_late(study, protocol)
    study.clock.advance(timedelta(minutes=5))
    await study.jobs.tick()
    assert checkins_sent(study) == []
    assert "几点提醒您" in study.bot.last_text(LATE), "only the time prompt"
    await study.bot.tap(LATE, "20:00")
    await study.jobs.tick()
    assert len(checkins_sent(study)) == 1


async def test_it_applies_the_default_time_after_15_minutes_and_says_so(study: Study, protocol: StudyProtocol) -> None:
    await consented_late(study, protocol)
    study.clock.advance(timedelta(minutes=protocol.safety.reminder_time_default_after_minutes - 1))
    await study.jobs.tick()
    assert checkins_sent(study) == []
    study.clock.advance(timedelta(minutes=1))
    due = study.clock.now()
    await study.jobs.tick()
    texts = study.bot.stub.texts_to(LATE)
    assert any("09:00" in text and "/time" in text for text in texts)
    assert len(checkins_sent(study)) == 1
    async with session_factory(study.engine)() as session:
        patient = await session.scalar(select(Patient).where(Patient.study_id == "S002"))
    assert patient is not None
    assert patient.onboarded_at == due
    assert patient.awaiting is None


async def test_it_takes_typed_text_as_the_answer_to_the_newest_prompt(study: Study, protocol: StudyProtocol) -> None:
    await consented_late(study, protocol)
    study.clock.advance(timedelta(minutes=1))
    await study.bot.send(LATE, "/checkin")
    await study.bot.tap(LATE, "有")
    await study.bot.send(LATE, "38.6")
    async with session_factory(study.engine)() as session:
        temperature = await session.scalar(select(Answer.value).where(Answer.item_id == "max_temp"))
        patient = await session.scalar(select(Patient).where(Patient.study_id == "S002"))
    assert temperature == 38.6
    assert patient is not None
    assert patient.reminder_time == time(9, 0)
    study.clock.advance(timedelta(minutes=1))
    await study.bot.send(LATE, "/time")  # now the time prompt is the newest
    await study.bot.send(LATE, "7:30")
    async with session_factory(study.engine)() as session:
        patient = await session.scalar(select(Patient).where(Patient.study_id == "S002"))
    assert patient is not None
    assert patient.reminder_time == time(7, 30)
