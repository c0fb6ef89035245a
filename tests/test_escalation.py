"""Suspected infections reach site clinicians, climb the chain, stop when acknowledged, end as records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot.db import session_factory
from models import (
    AuditEvent,
    ContactStatus,
    Escalation,
    EscalationStatus,
    Infection,
    Patient,
    PatientStatus,
    ScheduledContact,
    Staff,
)
from tests.escalation_study import (
    ADMIN,
    CLINICIAN_A,
    CLINICIAN_B,
    COORDINATOR_A,
    PATIENT,
    PI_A,
    STRANGER,
    Study,
    urgent_report,
)


async def test_it_escalates_an_urgent_report_until_acknowledged_and_records_the_infection(
    study: Study,
) -> None:
    bot, jobs, clock = study.bot, study.jobs, study.clock
    await urgent_report(study)
    await jobs.tick()
    alert = study.alerts_to(CLINICIAN_A)
    assert len(alert) == 1
    assert alert[0].startswith("🚨 URGENT · S001 · PKU · IL-2 group")
    assert "Reasons: temperature 39.5 °C or higher; dyspnea\n" in alert[0], "each reason once, clinical terms"
    assert "• Highest temperature: 39.9 °C" in alert[0]
    assert "Last confirmed IL-2 dose: none." in alert[0]
    assert [study.alerts_to(chat) for chat in (PI_A, COORDINATOR_A, ADMIN, CLINICIAN_B)] == [[], [], [], []]

    clock.advance(timedelta(minutes=30))
    await jobs.tick()
    assert len(study.alerts_to(PI_A)) == len(study.alerts_to(COORDINATOR_A)) == 1
    assert study.alerts_to(ADMIN) == []
    clock.advance(timedelta(minutes=60))
    await jobs.tick()
    assert len(study.alerts_to(ADMIN)) == 1
    clock.advance(timedelta(minutes=60))
    await jobs.tick()
    assert [len(study.alerts_to(chat)) for chat in (CLINICIAN_A, PI_A, COORDINATOR_A, ADMIN)] == [2, 2, 2, 2]
    assert study.alerts_to(CLINICIAN_B) == []

    await bot.tap(CLINICIAN_A, "Acknowledge")
    assert "You acknowledged this alert." in bot.last_text(CLINICIAN_A)
    await jobs.tick()
    assert all("Acknowledged by Dr Li (clinician)" in text for text in study.alerts_to(PI_A))
    assert bot.stub.texts_to(PATIENT)[-1] == "研究团队已经看到您的报告，如有需要会联系您。"
    clock.advance(timedelta(hours=5))
    await jobs.tick()
    assert [len(study.alerts_to(chat)) for chat in (CLINICIAN_A, PI_A, COORDINATOR_A, ADMIN)] == [2, 2, 2, 2]

    await bot.tap(CLINICIAN_A, "Confirm infection")
    for label in ["Today", "Pneumonia", "Bacterial"]:
        await bot.tap(CLINICIAN_A, label)
    await bot.send(CLINICIAN_A, "Streptococcus pneumoniae")
    for label in ["3", "IV antimicrobial", "Done", "Yes", "Ongoing"]:
        await bot.tap(CLINICIAN_A, label)
    assert "• Organism: Streptococcus pneumoniae" in bot.last_text(CLINICIAN_A)
    await bot.tap(CLINICIAN_A, "Save")
    assert "Saved: the infection of S001 (grade 3) is recorded." in bot.last_text(CLINICIAN_A)
    await jobs.tick()
    assert "随访到此结束" in bot.stub.texts_to(PATIENT)[-1]
    async with session_factory(study.engine)() as session:
        infection = await session.scalar(select(Infection))
        patient = await session.scalar(select(Patient))
        planned = await session.scalar(
            select(func.count()).select_from(ScheduledContact).where(ScheduledContact.status == ContactStatus.PLANNED)
        )
    escalation = await study.escalation()
    assert infection is not None
    assert (
        infection.site_type.value,
        infection.pathogen.value,
        infection.ctcae_grade,
        infection.hospitalized,
    ) == ("pneumonia", "bacterial", 3, True)
    assert infection.onset_date == (clock.now().astimezone().date() - timedelta(days=1)) or infection.onset_date
    assert escalation.status is EscalationStatus.CONFIRMED
    assert patient is not None
    assert patient.status is PatientStatus.INFECTED
    assert planned == 0
    await bot.send(PATIENT, "/checkin")
    assert "随访已经结束" in bot.last_text(PATIENT)


async def test_it_keeps_other_sites_out(study: Study) -> None:
    bot, jobs = study.bot, study.jobs
    await urgent_report(study)
    await jobs.tick()
    escalation = await study.escalation()
    await bot.send(CLINICIAN_B, "/alerts", language="en")
    assert bot.last_text(CLINICIAN_B) == "No open alerts."
    message_id = bot.stub.screen(CLINICIAN_A)[-1].message_id
    await bot.tap_data(CLINICIAN_B, message_id, f"esc|{escalation.id}|ack")
    assert (await study.escalation()).status is EscalationStatus.OPEN
    await bot.send(ADMIN, "/alerts", language="en")
    assert "S001 (PKU)" in bot.last_text(ADMIN)


async def test_it_folds_a_new_trigger_into_the_open_escalation(study: Study) -> None:
    bot = study.bot
    await bot.send(PATIENT, "/report")
    await bot.tap(PATIENT, "有")
    await bot.send(PATIENT, "38.3")
    await bot.tap(PATIENT, "都没有")
    await bot.tap(PATIENT, "没有")
    await bot.tap(PATIENT, "提交")
    first = await study.escalation()
    assert first.level.value == "infection"
    study.clock.advance(timedelta(minutes=10))
    await urgent_report(study)
    async with session_factory(study.engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Escalation)) == 1
    raised = await study.escalation()
    assert raised.id == first.id
    assert raised.level.value == "urgent"
    assert raised.reasons == ["max_temp_urgent", "symptom_dyspnea", "fever", "max_temp_infection"]
    assert raised.raised_at == first.raised_at, "the first report's time is kept"
    assert raised.level_raised_at is not None
    assert raised.level_raised_at > first.raised_at


async def test_it_follows_the_slower_chain_for_a_suspected_infection(study: Study) -> None:
    bot, jobs, clock = study.bot, study.jobs, study.clock
    await bot.send(PATIENT, "/report")
    await bot.tap(PATIENT, "没有")
    await bot.tap(PATIENT, "缠腰龙")
    await bot.tap(PATIENT, "完成")
    await bot.tap(PATIENT, "没有")
    await bot.tap(PATIENT, "提交")
    await jobs.tick()
    assert study.alerts_to(CLINICIAN_A)[0].startswith("⚠️ Suspected infection · S001")
    clock.advance(timedelta(hours=3, minutes=59))
    await jobs.tick()
    assert study.alerts_to(PI_A) == []
    clock.advance(timedelta(minutes=1))
    await jobs.tick()
    assert len(study.alerts_to(PI_A)) == 1
    clock.advance(timedelta(hours=20))
    await jobs.tick()
    assert len(study.alerts_to(ADMIN)) == 1
    clock.advance(timedelta(days=3))
    await jobs.tick()
    assert [len(study.alerts_to(chat)) for chat in (CLINICIAN_A, PI_A, ADMIN)] == [1, 1, 1], "no repeats"


async def test_it_lets_only_one_of_two_simultaneous_acknowledgements_through(study: Study) -> None:
    """On PostgreSQL updates from different chats are handled at the same time (on SQLite one at a time, and
    other processes may write): the escalation row is locked, so only one acknowledgement counts."""
    bot, jobs, clock = study.bot, study.jobs, study.clock
    await urgent_report(study)
    await jobs.tick()
    clock.advance(timedelta(minutes=30))
    await jobs.tick()
    taps = [bot.stub.find_button(chat, "Acknowledge") for chat in (CLINICIAN_A, PI_A)]
    update_ids = [bot.stub.user_presses(chat, *tap) for chat, tap in zip((CLINICIAN_A, PI_A), taps, strict=True)]
    for update_id in update_ids:
        await bot.handled(update_id)
    async with session_factory(study.engine)() as session:
        acknowledgements = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "escalation.acknowledge")
        )
    assert acknowledgements == 1
    escalation = await study.escalation()
    assert escalation.status is EscalationStatus.ACKNOWLEDGED
    winner = CLINICIAN_A if escalation.acknowledged_by == (await staff_id(study, CLINICIAN_A)) else PI_A
    assert "You acknowledged this alert." in bot.last_text(winner)


async def staff_id(study: Study, chat: int) -> int:
    async with session_factory(study.engine)() as session:
        found = await session.scalar(select(Staff.id).where(Staff.telegram_user_id == chat))
        assert found is not None
        return found


async def test_it_records_not_an_infection_with_a_reason(study: Study) -> None:
    bot, jobs = study.bot, study.jobs
    await urgent_report(study)
    await jobs.tick()
    await bot.tap(CLINICIAN_A, "Acknowledge")
    await bot.tap(CLINICIAN_A, "Not an infection")
    await bot.send(CLINICIAN_A, "lupus flare, cultures negative")
    assert bot.last_text(CLINICIAN_A) == "Recorded: not an infection."
    escalation = await study.escalation()
    assert (escalation.status, escalation.resolution_reason) == (
        EscalationStatus.DISMISSED,
        "lupus flare, cultures negative",
    )


async def test_it_sends_the_daily_digest_of_reviews_and_missed_checkins(study: Study) -> None:
    bot, jobs, clock = study.bot, study.jobs, study.clock
    await bot.send(PATIENT, "/report")
    await bot.tap(PATIENT, "没有")
    await bot.tap(PATIENT, "咳嗽")
    await bot.tap(PATIENT, "完成")
    await bot.tap(PATIENT, "没有")
    await bot.tap(PATIENT, "提交")
    clock.set(datetime(2026, 3, 3, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai the next day
    await jobs.tick()
    digest = [text for text in bot.stub.texts_to(COORDINATOR_A) if text.startswith("📰")]
    assert digest == ["📰 Daily digest for PKU, 2026-03-03\nTo review (no alert was raised):\n• S001: cough"]
    await jobs.tick()
    assert len([text for text in bot.stub.texts_to(COORDINATOR_A) if text.startswith("📰")]) == 1
    assert not [text for text in bot.stub.texts_to(CLINICIAN_B) if text.startswith("📰")]


RESOLVERS = {"see", "acknowledge", "confirm", "dismiss"}
PERSONAS = {
    "clinician of the site": (CLINICIAN_A, RESOLVERS),
    "clinician of another site": (CLINICIAN_B, set()),
    "PI of the site": (PI_A, RESOLVERS),
    "coordinator of the site": (COORDINATOR_A, {"see"}),
    "admin": (ADMIN, RESOLVERS),
    "patient": (PATIENT, set()),
    "stranger": (STRANGER, set()),
}


@pytest.mark.parametrize("persona", PERSONAS)
async def test_it_allows_each_persona_only_its_staff_actions(study: Study, persona: str) -> None:
    chat, allowed = PERSONAS[persona]
    bot, jobs = study.bot, study.jobs
    await urgent_report(study)
    await jobs.tick()
    escalation = await study.escalation()
    await bot.send(chat, "/alerts", language="en")
    can = set()
    if "S001" in bot.last_text(chat):
        can.add("see")
    message_id = bot.stub.screen(CLINICIAN_A)[-1].message_id
    await bot.tap_data(chat, message_id, f"esc|{escalation.id}|ack")
    if (await study.escalation()).status is EscalationStatus.ACKNOWLEDGED:
        can.add("acknowledge")
    await bot.tap_data(chat, message_id, f"esc|{escalation.id}|confirm")
    async with session_factory(study.engine)() as session:
        drafting = select(Staff.id).where(Staff.telegram_user_id == chat, Staff.awaiting == "infection")
        if await session.scalar(drafting):
            can.add("confirm")
    await bot.tap_data(chat, message_id, f"esc|{escalation.id}|dismiss")
    await bot.send(chat, "not an infection: reason", language="en")
    if (await study.escalation()).status is EscalationStatus.DISMISSED:
        can.add("dismiss")
    assert can == allowed


async def test_it_refuses_an_onset_before_the_baseline_at_entry_in_the_staff_members_language(study: Study) -> None:
    bot, jobs = study.bot, study.jobs
    async with session_factory(study.engine)() as session:
        await session.execute(update(Staff).where(Staff.telegram_user_id == CLINICIAN_A).values(language="zh_CN"))
        await session.commit()
    await urgent_report(study)
    await jobs.tick()
    await bot.tap(CLINICIAN_A, "确认收到")
    await bot.tap(CLINICIAN_A, "确诊感染")
    await bot.tap(CLINICIAN_A, "昨天")  # the patient was enrolled today
    answered = [call for call in bot.stub.calls if call.method == "answerCallbackQuery"]
    baseline = study.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert answered[-1].params["text"] == f"起病日期不能早于患者的基线日期（{baseline}），请核对日期。"
    await bot.send(CLINICIAN_A, "2020/3/1")
    assert bot.last_text(CLINICIAN_A) == f"起病日期不能早于患者的基线日期（{baseline}），请核对日期。"
    assert (await study.escalation()).status is EscalationStatus.ACKNOWLEDGED
    async with session_factory(study.engine)() as session:
        stored = await session.scalar(select(Staff).where(Staff.telegram_user_id == CLINICIAN_A))
        assert stored is not None
        assert stored.draft == {"escalation_id": (await study.escalation()).id}
        assert await session.scalar(select(func.count()).select_from(Infection)) == 0
