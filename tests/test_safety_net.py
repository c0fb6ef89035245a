"""No red flag is ever lost: every path a danger sign can take reaches a clinician and gets the patient the
emergency advice (120 and the site's 24-hour phone), through the real Application and the loopback Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.clock import FakeClock
from bot.db import create_engine, session_factory
from bot.delivery.dispatcher import Dispatcher
from bot.protocol import StudyProtocol
from bot.services import checkins, onboarding
from bot.services.exports import stream_dataset
from bot.services.sites import add_staff
from bot.simulator.bot_api import BotApiStub
from models import (
    ContactKind,
    ContactStatus,
    Escalation,
    EscalationStatus,
    FormKind,
    OutboxMessage,
    OutboxStatus,
    Patient,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    Site,
    StaffRole,
    TriageDecision,
)
from tests.bot_fixtures import FakeSleep, dispatcher, enrolled
from tests.escalation_study import CLINICIAN_A, COORDINATOR_A, PATIENT, PI_A, Study, urgent_report
from tests.factories import make_site
from tests.test_processes import in_stub_loop

SITE_PHONE = "+86 10 8888 0000"  # tests.factories.make_site
MONTH_1_OPENS = datetime(2026, 4, 2, 1, 30, tzinfo=UTC)  # month 1 is due at 09:00 Shanghai on 2 April


def shown(stub: BotApiStub, chat: int) -> list[str]:
    """What the person sees in the chat (failed calls are not messages)."""
    return [message.text for message in stub.screen(chat)]


def advice_to(study: Study, chat: int) -> list[str]:
    """The emergency advice messages: both numbers, after a warning sign."""
    return [
        text for text in shown(study.bot.stub, chat) if text.startswith("⚠️") and "120" in text and SITE_PHONE in text
    ]


async def responses(engine: AsyncEngine) -> list[QuestionnaireResponse]:
    async with session_factory(engine)() as session:
        return list(await session.scalars(select(QuestionnaireResponse).order_by(QuestionnaireResponse.id)))


async def escalations(engine: AsyncEngine) -> list[Escalation]:
    async with session_factory(engine)() as session:
        return list(await session.scalars(select(Escalation).order_by(Escalation.id)))


async def test_it_acts_on_a_red_flag_when_it_is_answered_not_at_submit(study: Study) -> None:
    bot, jobs = study.bot, study.jobs
    await bot.send(PATIENT, "/report")
    await bot.tap(PATIENT, "有")
    await bot.send(PATIENT, "40.1")  # the patient stops here and never submits
    await jobs.tick()
    advice = advice_to(study, PATIENT)
    assert len(advice) == 1
    assert advice[0].startswith("⚠️ 根据您告诉我们的情况，您可能需要马上就医。请立即拨打120")
    alert = study.alerts_to(CLINICIAN_A)
    assert len(alert) == 1
    assert alert[0].startswith("🚨 URGENT · S001")
    assert "• Highest temperature: 40.1 °C" in alert[0]


async def test_it_triages_a_checkin_submitted_one_minute_after_its_window_closed(study: Study) -> None:
    bot, jobs, clock = study.bot, study.jobs, study.clock
    clock.set(MONTH_1_OPENS)
    await jobs.tick()
    await bot.send(PATIENT, "/checkin")
    await bot.tap(PATIENT, "有")
    await bot.send(PATIENT, "40.2")
    await bot.send(PATIENT, "2")
    await bot.tap(PATIENT, "喘不上气")
    await bot.tap(PATIENT, "完成")
    for _ in range(3):  # doctor visit, infection diagnosed, antimicrobials
        await bot.tap(PATIENT, "没有")
    await bot.tap(PATIENT, "有")  # hospitalized
    await bot.tap(PATIENT, "生了新的病")  # why
    await bot.tap(PATIENT, "没有，现在不在医院")
    await bot.tap(PATIENT, "没有")  # positive test
    await bot.tap(PATIENT, "泼尼松")
    await bot.send(PATIENT, "2")
    await bot.tap(PATIENT, "都没有")  # immunosuppressants
    await bot.tap(PATIENT, "都没有")  # IL-2 reactions
    async with session_factory(study.engine)() as session:
        contact = await session.scalar(
            select(ScheduledContact).where(ScheduledContact.kind == ContactKind.CHECKIN, ScheduledContact.month == 1)
        )
    assert contact is not None
    clock.set(contact.window_end + timedelta(minutes=1))
    await bot.tap(PATIENT, "提交")
    await jobs.tick()

    [response] = await responses(study.engine)
    assert (response.status, response.late) == (ResponseStatus.SUBMITTED, True)
    async with session_factory(study.engine)() as session:
        decision = await session.scalar(select(TriageDecision))
        exported = [row async for chunk in stream_dataset(session, dataset="checkins", site_code=None) for row in chunk]
    assert decision is not None
    assert decision.level.value == "urgent"
    assert {"max_temp_urgent", "symptom_dyspnea", "hospitalized"} <= set(decision.reasons)
    assert exported[0][7] is True, "exported as late"
    assert len(advice_to(study, PATIENT)) == 1
    thanks = shown(study.bot.stub, PATIENT)[-1]
    assert thanks.startswith("谢谢您。研究团队会尽快查看您的回答。"), "the thank-you after a late submission"
    assert "120" in thanks
    assert SITE_PHONE in thanks
    alert = study.alerts_to(CLINICIAN_A)
    assert len(alert) == 1
    assert "• Stayed in hospital: Yes" in alert[0] or "hospital" in alert[0].lower()


async def test_it_submits_an_unfinished_questionnaire_with_red_flags_after_two_hours(study: Study) -> None:
    bot, jobs, clock = study.bot, study.jobs, study.clock
    await bot.send(PATIENT, "/report")
    await bot.tap(PATIENT, "有")
    await bot.send(PATIENT, "38.6")  # a suspected infection, not urgent: nothing happens while answering
    clock.advance(timedelta(minutes=119))
    await jobs.tick()
    assert await escalations(study.engine) == []
    clock.advance(timedelta(minutes=2))
    await jobs.tick()
    [response] = await responses(study.engine)
    assert (response.status, response.partial) == (ResponseStatus.SUBMITTED, True)
    [escalation] = await escalations(study.engine)
    assert escalation.level.value == "infection"
    assert study.alerts_to(CLINICIAN_A)[0].startswith("⚠️ Suspected infection · S001")


async def test_it_leaves_an_unfinished_questionnaire_without_red_flags_open(study: Study) -> None:
    bot, jobs, clock = study.bot, study.jobs, study.clock
    await bot.send(PATIENT, "/report")
    await bot.tap(PATIENT, "没有")
    clock.advance(timedelta(hours=3))
    await jobs.tick()
    [response] = await responses(study.engine)
    assert response.status is ResponseStatus.IN_PROGRESS
    assert await escalations(study.engine) == []


async def test_it_realerts_on_a_new_report_after_an_acknowledgement(study: Study) -> None:
    bot, jobs, clock = study.bot, study.jobs, study.clock
    await urgent_report(study)
    await jobs.tick()
    await bot.tap(CLINICIAN_A, "Acknowledge")
    [acknowledged] = await escalations(study.engine)
    clock.advance(timedelta(minutes=20))
    await bot.send(PATIENT, "/report")
    await bot.tap(PATIENT, "有")
    await bot.send(PATIENT, "40.5")
    await bot.tap(PATIENT, "神志不清")
    await bot.tap(PATIENT, "完成")
    await bot.tap(PATIENT, "没有")
    await bot.tap(PATIENT, "提交")
    await jobs.tick()

    alerts = study.alerts_to(CLINICIAN_A)
    assert len(alerts) == 2
    assert alerts[1].startswith("🔔 New report since this alert was acknowledged.\n🚨 URGENT · S001")
    assert "40.5 °C" in alerts[1]
    assert len(advice_to(study, PATIENT)) >= 2, "advice for each report"
    [restarted] = await escalations(study.engine)
    assert restarted.id == acknowledged.id
    assert restarted.status is EscalationStatus.OPEN, "an urgent new report restarts the chain"
    assert restarted.raised_at == acknowledged.raised_at, "raised_at is never overwritten"
    assert restarted.acknowledged_at == acknowledged.acknowledged_at, "minutes to acknowledge stay true"
    assert restarted.level_raised_at is not None
    assert restarted.level_raised_at >= acknowledged.raised_at + timedelta(minutes=20), "the chain restarted"
    assert study.alerts_to(PI_A) == []
    clock.advance(timedelta(minutes=30))
    await jobs.tick()
    assert len(study.alerts_to(PI_A)) == 1, "the restarted chain climbs again"


async def test_it_tells_the_acknowledger_of_a_new_infection_report_without_restarting(study: Study) -> None:
    bot, jobs = study.bot, study.jobs
    await bot.send(PATIENT, "/report")
    await bot.tap(PATIENT, "有")
    await bot.send(PATIENT, "38.3")
    await bot.tap(PATIENT, "都没有")
    await bot.tap(PATIENT, "没有")
    await bot.tap(PATIENT, "提交")
    await jobs.tick()
    await bot.tap(CLINICIAN_A, "Acknowledge")
    await bot.send(PATIENT, "/report")
    await bot.tap(PATIENT, "没有")
    await bot.tap(PATIENT, "缠腰龙")
    await bot.tap(PATIENT, "完成")
    await bot.tap(PATIENT, "没有")
    await bot.tap(PATIENT, "提交")
    await jobs.tick()
    alerts = study.alerts_to(CLINICIAN_A)
    assert len(alerts) == 2
    assert alerts[1].startswith("🔔 New report since this alert was acknowledged.")
    [escalation] = await escalations(study.engine)
    assert escalation.status is EscalationStatus.ACKNOWLEDGED


async def test_it_opens_a_new_escalation_for_a_report_after_resolution(study: Study) -> None:
    bot, jobs = study.bot, study.jobs
    await urgent_report(study)
    await jobs.tick()
    await bot.tap(CLINICIAN_A, "Acknowledge")
    await bot.tap(CLINICIAN_A, "Not an infection")
    await bot.send(CLINICIAN_A, "lupus flare")
    await urgent_report(study)
    await jobs.tick()
    first, second = await escalations(study.engine)
    assert first.status is EscalationStatus.DISMISSED
    assert second.status is EscalationStatus.OPEN
    assert len(study.alerts_to(CLINICIAN_A)) == 2


async def test_it_retries_the_urgent_advice_after_a_telegram_error_and_sends_it_first(study: Study) -> None:
    bot, jobs, clock = study.bot, study.jobs, study.clock
    await urgent_report(study)
    bot.stub.fail("sendMessage", 500, chat_id=PATIENT)  # the next message to the patient: the advice
    await jobs.tick()
    clock.advance(timedelta(minutes=1))
    await jobs.tick()
    async with session_factory(study.engine)() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("advice:%")))
    assert row is not None
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2), "sent on the second attempt"
    texts = shown(bot.stub, PATIENT)
    advice = [index for index, text in enumerate(texts) if text.startswith("⚠️ 根据您告诉我们的情况")]
    thanks = [index for index, text in enumerate(texts) if text.startswith("谢谢您。研究团队会尽快查看您的回答。")]
    assert len(advice) == 1
    assert len(thanks) == 1
    assert advice[0] < thanks[0], "the advice comes first"


async def test_it_hands_the_first_step_to_the_next_roles_when_a_site_has_no_clinician(
    study: Study, protocol: StudyProtocol
) -> None:
    bot, jobs, clock, engine = study.bot, study.jobs, study.clock, study.engine
    async with session_factory(engine)() as session:
        await make_site(session, clock, code="RJH")
    for chat, role in ((301, StaffRole.PI), (302, StaffRole.COORDINATOR)):
        async with session_factory(engine)() as session:
            _staff, code = await add_staff(
                session, site_code="RJH", role=role, name=f"RJH {role}", actor="test", now=clock.now(),
                invite_valid_days=7,
            )  # fmt: skip
        await bot.send(chat, f"/start {code}", language="en")
    invite = await enrolled(engine, protocol, clock, study_id="R001", site="RJH", language="en")
    await bot.send(300, f"/start {invite.code}")
    await bot.tap(300, "I agree")
    await bot.tap(300, "09:00")
    await bot.send(300, "/report")
    await bot.tap(300, "Yes")
    await bot.send(300, "39.9")
    await jobs.tick()
    for chat in (301, 302):
        assert next(text for text in bot.stub.texts_to(chat) if "R001" in text).startswith("🚨 URGENT · R001 · RJH")


async def test_it_pauses_dose_reminders_while_an_alert_is_open(study: Study) -> None:
    bot, jobs, clock, engine = study.bot, study.jobs, study.clock, study.engine
    await urgent_report(study)
    await jobs.tick()  # day 0 of the IL-2 cycle is today, 09:00 Shanghai: due now
    assert not any(text.startswith("💉") for text in bot.stub.texts_to(PATIENT))
    clock.advance(timedelta(days=1))
    await jobs.tick()
    async with session_factory(engine)() as session:
        first_dose = await session.scalar(
            select(ScheduledContact)
            .where(ScheduledContact.kind == ContactKind.DOSE)
            .order_by(ScheduledContact.due_at)
            .limit(1)
        )
    assert first_dose is not None
    assert first_dose.status is ContactStatus.PAUSED
    await bot.tap(CLINICIAN_A, "Acknowledge")
    await bot.tap(CLINICIAN_A, "Not an infection")
    await bot.send(CLINICIAN_A, "lupus flare")
    clock.advance(timedelta(days=1))
    await jobs.tick()
    assert [text for text in bot.stub.texts_to(PATIENT) if text.startswith("💉")], "reminders resume"


def test_it_delivers_the_urgent_advice_after_the_bot_is_killed(
    database_url: str, stub_in_thread: BotApiStub, protocol: StudyProtocol, tmp_path: Path
) -> None:
    """SIGKILL of `followup run` right after a red flag was answered, while Telegram failed: the advice and
    the alert were committed with the answer, so the next process delivers them."""
    patient_chat, clinician_chat = 4242, 4343
    now = datetime.now(UTC)
    clock = FakeClock(now)

    async def prepare() -> None:
        engine = create_engine(database_url)
        invite = await enrolled(engine, protocol, clock, language="en")
        async with session_factory(engine)() as session:
            _staff, code = await add_staff(
                session, site_code="PKU", role=StaffRole.CLINICIAN, name="Dr Li", actor="test", now=now,
                invite_valid_days=7,
            )  # fmt: skip
            await onboarding.redeem(session, code=code, chat_id=clinician_chat, now=now, language="en")
            linked = await onboarding.redeem(session, code=invite.code, chat_id=patient_chat, now=now)
            assert isinstance(linked, onboarding.LinkedPatient)
            patient = linked.patient
            await onboarding.give_consent(session, patient=patient, agree=True, now=now)
            await onboarding.set_reminder_time(
                session, patient=patient, reminder_time=patient.reminder_time, protocol=protocol, now=now
            )
            step = await checkins.start(session, patient=patient, form=FormKind.REPORT, now=now)
            assert isinstance(step, checkins.AskItem)
            await checkins.choose(
                session, patient=patient, response_id=step.response_id, item_id="fever", code="yes",
                protocol=protocol, now=now,
            )  # fmt: skip
        await engine.dispose()

    async def advice_committed() -> bool:
        engine = create_engine(database_url)
        async with session_factory(engine)() as session:
            found = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.dedupe_key.like("advice:%"))
            )
        await engine.dispose()
        return bool(found)

    asyncio.run(prepare())
    stub_in_thread.fail("sendMessage", 500, times=100_000, chat_id=patient_chat)  # Telegram fails this chat
    env = {
        **os.environ,
        "FOLLOWUP_DATABASE_URL": database_url,
        "FOLLOWUP_TELEGRAM_TOKEN": stub_in_thread.token,
        "FOLLOWUP_TELEGRAM_API_URL": stub_in_thread.base_url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        in_stub_loop(stub_in_thread, stub_in_thread.wait_for_calls("setMyCommands", 1))
        deadline = time.monotonic() + 60
        stub_in_thread.user_sends(patient_chat, "40.3")
        while not asyncio.run(advice_committed()):
            assert time.monotonic() < deadline, "the answer was never handled"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    stub_in_thread.heal()

    async def restart() -> None:
        later = FakeClock(now + timedelta(minutes=10))  # past any backoff and any dead worker's lease
        engine = create_engine(database_url)
        async with Bot(stub_in_thread.token, base_url=stub_in_thread.base_url) as telegram:
            outbox = dispatcher(engine, telegram, later, FakeSleep(later), concurrency=Dispatcher.concurrency)
            await outbox.drain()
        async with session_factory(engine)() as session:
            pending = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != OutboxStatus.SENT)
            )
            patient = await session.scalar(select(Patient))
        await engine.dispose()
        assert pending == 0
        assert patient is not None

    asyncio.run(restart())
    advice = [text for text in shown(stub_in_thread, patient_chat) if text.startswith("⚠️ What you told us")]
    assert len(advice) == 1
    assert "call 120" in advice[0]
    assert SITE_PHONE in advice[0]
    assert any(text.startswith("🚨 URGENT · S001") for text in shown(stub_in_thread, clinician_chat))


async def test_it_warns_a_site_without_a_linked_clinician_in_the_daily_digest(study: Study) -> None:
    bot, jobs, clock, engine = study.bot, study.jobs, study.clock, study.engine
    async with session_factory(engine)() as session:
        await make_site(session, clock, code="RJH")
        _staff, code = await add_staff(
            session, site_code="RJH", role=StaffRole.COORDINATOR, name="Ms Zhou", actor="test", now=clock.now(),
            invite_valid_days=7,
        )  # fmt: skip
    await bot.send(302, f"/start {code}", language="en")
    clock.advance(timedelta(days=1))  # past the next 09:00 at every site
    await jobs.tick()
    digest = [text for text in shown(bot.stub, 302) if text.startswith("📰")]
    assert len(digest) == 1
    assert "⚠️ No clinician of this site is linked in Telegram" in digest[0]
    assert not any("No clinician" in text for text in shown(bot.stub, COORDINATOR_A)), "PKU has Dr Li"


async def test_it_names_120_when_a_site_has_no_phone(study: Study) -> None:
    """A site added before the phone was required: the advice names the emergency number alone, never an
    empty placeholder."""
    async with session_factory(study.engine)() as session:
        site = await session.scalar(select(Site).where(Site.code == "PKU"))
        assert site is not None
        site.phone = None
        await session.commit()
    await study.bot.send(PATIENT, "/report")
    await study.bot.tap(PATIENT, "有")
    await study.bot.send(PATIENT, "40.1")
    await study.jobs.tick()
    [advice] = [text for text in shown(study.bot.stub, PATIENT) if text.startswith("⚠️")]
    assert "情况紧急，请拨打120。" in advice
    assert "研究团队" in advice, "the study team has been told"
    assert "电话：" not in advice
