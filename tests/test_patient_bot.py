"""Patients in Telegram, end to end: real Application, real HTTP, loopback Bot API, fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.scheduler import Jobs
from bot.services.sites import add_staff
from bot.simulator.harness import Harness
from models import (
    Answer,
    AuditEvent,
    ContactStatus,
    Escalation,
    OutboxMessage,
    Patient,
    PatientStatus,
    QuestionnaireResponse,
    ScheduledContact,
    StaffRole,
    TriageDecision,
)
from tests.bot_fixtures import FakeSleep, RunBot, deliver_outbox, dispatcher, enrolled

CHAT = 5550001


async def patient(engine: AsyncEngine, study_id: str = "S001") -> Patient:
    async with session_factory(engine)() as session:
        return await session.scalar(select(Patient).where(Patient.study_id == study_id))  # type: ignore[return-value]


async def onboard(bot: Harness, code: str, chat: int = CHAT, agree: str = "我同意", at: str = "09:00") -> None:
    await bot.send(chat, f"/start {code}")
    await bot.tap(chat, agree)
    await bot.tap(chat, at)


async def test_it_onboards_a_patient_in_chinese(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    invite = await enrolled(engine, protocol, clock)
    await bot.send(CHAT, f"/start {invite.code}")
    consent = bot.stub.screen(CHAT)[-1]
    assert "您好" in consent.text
    assert [label for label, _data in consent.buttons] == ["我同意", "我不同意"]
    await bot.tap(CHAT, "我同意")
    assert "几点提醒您" in bot.last_text(CHAT)
    await bot.tap(CHAT, "20:00")
    texts = bot.stub.texts_to(CHAT)
    assert "提醒时间已改为 20:00。" in texts
    welcome = texts[-1]
    assert "欢迎" in welcome
    assert "下一次每月随访：2026年4月2日 星期四 20:00。" in welcome
    assert "重组人白介素-2（rhIL-2）100万IU" in welcome
    stored = await patient(engine)
    assert stored.status is PatientStatus.ACTIVE
    assert stored.telegram_chat_id == CHAT
    assert stored.reminder_time == time(20, 0)
    assert stored.consented_at == clock.now()


async def test_it_records_a_refusal_and_ends_follow_up(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    invite = await enrolled(engine, protocol, clock, language="en")
    await bot.send(CHAT, f"/start {invite.code}")
    await bot.tap(CHAT, "I do not agree")
    assert "You will not get any more messages" in bot.last_text(CHAT)
    stored = await patient(engine)
    assert stored.status is PatientStatus.DECLINED
    async with session_factory(engine)() as session:
        planned = await session.scalar(
            select(func.count()).select_from(ScheduledContact).where(ScheduledContact.status == ContactStatus.PLANNED)
        )
    assert planned == 0


async def test_it_explains_bad_codes_and_locks_out_guessing(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    invite = await enrolled(engine, protocol, clock)
    stranger = 777
    await bot.send(stranger, "/start", language="en")
    assert "only for people taking part" in bot.last_text(stranger)
    for attempt in range(5):
        await bot.send(stranger, f"/start guess{attempt}", language="en")
        assert "This link is not valid" in bot.last_text(stranger)
    await bot.send(stranger, f"/start {invite.code}", language="en")
    assert "Too many wrong links" in bot.last_text(stranger)
    assert (await patient(engine)).telegram_chat_id is None
    clock.advance(timedelta(hours=1, minutes=1))
    await bot.send(stranger, f"/start {invite.code}", language="en")
    assert (await patient(engine)).telegram_chat_id == stranger
    await bot.send(CHAT, f"/start {invite.code}", language="en")
    assert "already been used" in bot.last_text(CHAT)


async def test_it_refuses_an_expired_code(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    invite = await enrolled(engine, protocol, clock)
    clock.advance(timedelta(days=protocol.enrollment.invite_valid_days, seconds=1))
    await bot.send(CHAT, f"/start {invite.code}")
    assert "过期" in bot.last_text(CHAT)


async def test_it_ignores_groups_and_channels(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    invite = await enrolled(engine, protocol, clock)
    await bot.send(-100123, f"/start {invite.code}", chat_type="group")
    await bot.send(-100123, "/help", chat_type="supergroup")
    assert bot.stub.sent_to(-100123) == []
    assert (await patient(engine)).telegram_chat_id is None


async def open_checkin_month_1(clock: FakeClock) -> None:
    clock.set(datetime(2026, 4, 2, 1, 30, tzinfo=UTC))  # month 1 is due at 09:00 Shanghai on 2 April


async def start_checkin_in_english(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    """An English-speaking patient who has agreed sends /checkin when month 1 is open."""
    invite = await enrolled(engine, protocol, clock, language="en")
    await onboard(bot, invite.code, agree="I agree")
    await open_checkin_month_1(clock)
    await bot.send(CHAT, "/checkin")


async def test_it_edits_the_question_in_place_one_edit_per_tap(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    await start_checkin_in_english(bot, engine, protocol, clock)
    question = bot.stub.screen(CHAT)[-1]
    before = len(bot.stub.calls)
    for label in ["No", "Cough", "Done", "Back"]:
        await bot.tap(CHAT, label)
    assert bot.stub.screen(CHAT)[-1] is question
    methods = [call.method for call in bot.stub.calls[before:]]
    assert sorted(methods) == ["answerCallbackQuery"] * 4 + ["editMessageText"] * 4
    assert question.text == (
        "(2/10) Since your last check-in, have you had any of these? Tap all that apply, then tap Done."
    )
    assert ("✅ Cough", question.buttons[0][1]) in question.buttons
    await bot.tap(CHAT, "Done")
    assert question.text == (
        "✔ Symptoms: Cough\n\n(3/10) Since your last check-in, have you seen a doctor because you felt unwell?"
    )


async def test_it_takes_a_whole_checkin_in_english_in_few_taps(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    await start_checkin_in_english(bot, engine, protocol, clock)
    assert bot.last_text(CHAT).startswith("(1/")
    taps = 0
    for label in [
        "No",
        "None of these",
        "No",
        "No",
        "No",
        "No",
        "No",
        "Prednisone, 5 mg tablets",
        "1.5",
        "Hydroxychloroquine",
        "Done",
        "None of these",
    ]:
        await bot.tap(CHAT, label)
        taps += 1
    summary = bot.last_text(CHAT)
    assert "Please check your answers:" in summary
    assert "• Steroid: Prednisone, 5 mg tablets" in summary
    assert "• Steroid per day: 1.5 tablets a day" in summary
    assert "• Other medicines: Hydroxychloroquine" in summary
    await bot.tap(CHAT, "Submit")
    taps += 1
    assert taps <= 16
    assert bot.last_text(CHAT) == "Thank you, your answers have been sent. Take care!"
    async with session_factory(engine)() as session:
        decision = await session.scalar(select(TriageDecision))
        contact = await session.scalar(select(ScheduledContact).where(ScheduledContact.month == 1))
        answers = {row.item_id: row.value for row in await session.scalars(select(Answer))}
    assert decision is not None
    assert (decision.level.value, decision.reasons) == ("none", [])
    assert contact is not None
    assert contact.status is ContactStatus.DONE
    assert answers == {
        "fever": "no",
        "symptoms": ["none"],
        "doctor_visit": "no",
        "infection_diagnosed": "no",
        "antimicrobials": "no",
        "hospitalized": "no",
        "positive_test": "no",
        "steroid": "prednisone",
        "steroid_amount": "1.5 tablets",
        "prednisone_mg": 7.5,
        "immunosuppressants": ["hydroxychloroquine"],
        "il2_reaction": ["none"],
    }


async def test_it_takes_a_checkin_in_chinese_with_typed_answers_and_an_edit(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    invite = await enrolled(engine, protocol, clock, group="control")
    await onboard(bot, invite.code)
    await open_checkin_month_1(clock)
    await bot.send(CHAT, "/checkin")
    assert "(1/9)" in bot.last_text(CHAT)  # two more items appear when fever = yes
    await bot.tap(CHAT, "有")  # fever
    assert "(2/11) 您最高体温是多少度" in bot.last_text(CHAT)
    await bot.send(CHAT, "abc")
    assert bot.stub.texts_to(CHAT)[-1].startswith("⚠️ 请输入35.0到42.5之间的体温")
    await bot.send(CHAT, "１００.４℉")  # full-width digits, Fahrenheit
    await bot.send(CHAT, "0")
    assert bot.stub.texts_to(CHAT)[-1] == "⚠️ 请输入1到60之间的整数。"
    await bot.send(CHAT, "3天")
    with_buttons = [shown for shown in bot.stub.screen(CHAT) if shown.buttons]
    assert with_buttons == [bot.stub.screen(CHAT)[-1]], "a question answered by typing loses its buttons"
    await bot.tap(CHAT, "咳嗽")
    await bot.tap(CHAT, "完成")
    for _ in range(5):
        await bot.tap(CHAT, "没有")
    await bot.tap(CHAT, "甲泼尼龙（美卓乐），每片4毫克")
    await bot.send(CHAT, "2片")
    await bot.tap(CHAT, "这些药都没有用")
    summary = bot.last_text(CHAT)
    assert "• 最高体温：38.0℃" in summary
    assert "• 每天激素用量：每天2片" in summary
    await bot.tap(CHAT, "修改")
    await bot.tap(CHAT, "最高体温")
    await bot.send(CHAT, "38,6")
    assert "• 最高体温：38.6℃" in bot.last_text(CHAT)
    await bot.tap(CHAT, "提交")
    await deliver_outbox(engine, bot.stub, clock)
    assert "研究团队会尽快查看您的回答" in bot.last_text(CHAT)
    async with session_factory(engine)() as session:
        decision = await session.scalar(select(TriageDecision))
        escalation = await session.scalar(select(Escalation))
        temperature = await session.scalar(select(Answer.value).where(Answer.item_id == "max_temp"))
        prednisone = await session.scalar(select(Answer.value).where(Answer.item_id == "prednisone_mg"))
    assert decision is not None
    assert decision.level.value == "infection"
    assert decision.reasons == ["max_temp_infection", "fever_with_cough", "fever"]
    assert temperature == 38.6
    assert prednisone == 10.0  # 2 × 4 mg methylprednisolone = 10 mg prednisone
    assert escalation is not None
    assert escalation.level.value == "infection"


async def test_it_resumes_a_questionnaire_after_a_restart(
    run_bot: RunBot, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    invite = await enrolled(engine, protocol, clock, language="en")
    async with run_bot() as bot:
        await onboard(bot, invite.code, agree="I agree")
        await open_checkin_month_1(clock)
        await bot.send(CHAT, "/checkin")
        await bot.tap(CHAT, "No")
        await bot.tap(CHAT, "Cough")
    async with run_bot() as restarted:
        await restarted.send(CHAT, "/checkin")
        shown = restarted.stub.screen(CHAT)[-1]
        assert shown.text.startswith("(2/")
        assert ("✅ Cough", shown.buttons[0][1]) in shown.buttons
        await restarted.tap(CHAT, "Done")
        assert restarted.last_text(CHAT).startswith("✔ Symptoms: Cough\n\n(3/")


async def test_it_never_answers_twice_from_an_old_keyboard_or_a_double_tap(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    await start_checkin_in_english(bot, engine, protocol, clock)
    first = bot.stub.screen(CHAT)[-1]
    no_data = next(data for label, data in first.buttons if label == "No")
    yes_data = next(data for label, data in first.buttons if label == "Yes")
    await bot.tap_data(CHAT, first.message_id, no_data)
    await bot.tap_data(CHAT, first.message_id, no_data)
    await bot.tap_data(CHAT, first.message_id, yes_data)
    async with session_factory(engine)() as session:
        rows = list(await session.scalars(select(Answer)))
    assert [(row.item_id, row.value) for row in rows] == [("fever", "no")]
    answered = [call for call in bot.stub.calls if call.method == "answerCallbackQuery"]
    assert answered[-1].params.get("text") == "This question was already answered."


async def test_it_handles_settings_commands(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    invite = await enrolled(engine, protocol, clock, language="en")
    await onboard(bot, invite.code, agree="I agree")
    await bot.send(CHAT, "/doses")
    assert "1 million IU of rhIL-2" in bot.last_text(CHAT)
    assert "Next doses:" in bot.last_text(CHAT)
    await bot.send(CHAT, "/time")
    await bot.send(CHAT, "25:99")
    assert bot.last_text(CHAT).startswith("Please tap a time")
    await bot.send(CHAT, "7:30")
    assert (await patient(engine)).reminder_time == time(7, 30)
    await bot.send(CHAT, "/help")
    assert "+86 10 8888 0000" in bot.last_text(CHAT)
    await bot.send(CHAT, "/language")
    await bot.tap(CHAT, "中文")
    assert bot.last_text(CHAT) == "以后我会用中文和您交流。"
    await bot.send(CHAT, "hello")
    assert bot.last_text(CHAT).startswith("谢谢您的留言")
    await bot.send(CHAT, "/stop")
    await bot.tap(CHAT, "退出研究")
    assert "您已退出研究" in bot.last_text(CHAT)
    stored = await patient(engine)
    assert stored.status is PatientStatus.WITHDRAWN
    await bot.send(CHAT, "/checkin")
    assert "随访已经结束" in bot.last_text(CHAT)


async def staff_invite(engine: AsyncEngine, clock: FakeClock, role: StaffRole, name: str) -> str:
    """A PKU staff member added by a coordinator: the code of their invite link."""
    async with session_factory(engine)() as session:
        _staff, code = await add_staff(
            session, site_code="PKU", role=role, name=name, actor="cli:test", now=clock.now(), invite_valid_days=7
        )
    return code


async def test_it_tells_the_coordinator_when_a_patient_stops(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    invite = await enrolled(engine, protocol, clock, language="en")
    staff_code = await staff_invite(engine, clock, StaffRole.COORDINATOR, "Ms Wang")
    await bot.send(42, f"/start {staff_code}", language="en")
    assert "You are linked as coordinator" in bot.last_text(42)
    await onboard(bot, invite.code, agree="I agree")
    await bot.send(CHAT, "/stop")
    await bot.tap(CHAT, "Leave the study")
    assert bot.last_text(CHAT).startswith("Done: you have left the study.")
    async with session_factory(engine)() as session:
        notice = await session.scalar(select(OutboxMessage))
        status = await session.scalar(select(Patient.status))
    assert notice is not None
    assert notice.chat_id == 42
    assert notice.payload == {"text": "S001 withdrew consent through the bot (/stop): no more data may be collected."}
    assert status is PatientStatus.WITHDRAWN


async def test_it_gives_a_linked_staff_member_the_staff_command_menu(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    await enrolled(engine, protocol, clock)  # creates the site
    staff_code = await staff_invite(engine, clock, StaffRole.CLINICIAN, "Dr Li")
    await bot.send(43, f"/start {staff_code}")
    menus = [call.params for call in bot.stub.calls if call.method == "setMyCommands"]
    (menu,) = [menu for menu in menus if menu["scope"] == {"type": "chat", "chat_id": 43}]
    commands: list[dict[str, str]] = menu["commands"]  # type: ignore[assignment]
    assert [(command["command"], command["description"]) for command in commands] == [
        ("alerts", "本中心未处理的警报"),
        ("status", "随访概况"),
        ("export", "导出数据（CSV文件）"),
        ("overdue", "需要电话联系的患者"),
        ("web", "研究网页控制台的登录链接"),
        ("help", "工作人员使用说明"),
    ]


async def test_it_stops_and_restarts_reaching_a_patient_who_blocks_and_unblocks_the_bot(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    sessions = session_factory(engine)
    outbox = dispatcher(engine, bot.application.bot, clock, FakeSleep(clock))
    jobs = Jobs(sessions=sessions, protocol=protocol, clock=clock, dispatcher=outbox)
    invite = await enrolled(engine, protocol, clock, language="en")
    await onboard(bot, invite.code, agree="I agree")
    await bot.handled(bot.stub.block(CHAT))
    assert (await patient(engine)).unreachable
    await open_checkin_month_1(clock)
    clock.advance(timedelta(hours=1))  # month 1 fell due while the bot was blocked: nothing is sent
    await jobs.tick()
    sent = len(bot.stub.texts_to(CHAT))
    await bot.handled(bot.stub.unblock(CHAT))
    assert not (await patient(engine)).unreachable
    await jobs.tick()
    assert "check-in" in bot.stub.texts_to(CHAT)[sent], "the open check-in goes out on the next pass"
    async with sessions() as session:
        actions = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["patient.unreachable", "patient.reachable"]


async def test_it_survives_stickers_long_text_and_edits(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    await start_checkin_in_english(bot, engine, protocol, clock)
    await bot.tap(CHAT, "Yes")
    await bot.send(CHAT, "x" * 5000)
    assert bot.last_text(CHAT).startswith("⚠️ Please type a temperature")
    await bot.send(CHAT, "🤒🤒")
    await bot.send(CHAT, "/nonsense")
    async with session_factory(engine)() as session:
        response = await session.scalar(select(QuestionnaireResponse))
        stored = [row.item_id for row in await session.scalars(select(Answer))]
    assert response is not None
    assert response.current_item == "max_temp"
    assert stored == ["fever"]


async def test_it_ignores_an_edited_message(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    await start_checkin_in_english(bot, engine, protocol, clock)
    await bot.tap(CHAT, "Yes")
    await bot.send(CHAT, "38.2")
    replies = len(bot.stub.texts_to(CHAT))
    await bot.handled(bot.stub.user_edits(CHAT, bot.stub.last_user_message_id, "40.5"))
    assert len(bot.stub.texts_to(CHAT)) == replies
    async with session_factory(engine)() as session:
        temperature = await session.scalar(select(Answer.value).where(Answer.item_id == "max_temp"))
    assert temperature == 38.2
