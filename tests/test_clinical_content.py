"""What a patient is asked and what raises the alarm (issue 14): hospital stays, the in-hospital advice, the
steroid dose as patients know it, "same as last month", numbers as people type them. Through the real
Application and the loopback Bot API, in Chinese (the study's patients)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.db import session_factory
from bot.forms import FORM_ITEMS, Kind
from bot.i18n import gettext_for
from bot.services.reachability import mark_reachable, mark_unreachable
from bot.services.sites import add_staff
from models import Answer, Escalation, FormKind, Patient, StaffRole, TriageDecision
from tests.escalation_study import CLINICIAN_A, COORDINATOR_A, PATIENT, Study
from tests.test_safety_net import MONTH_1_OPENS, advice_to

MONTH_2_OPENS = datetime(2026, 5, 2, 1, 30, tzinfo=UTC)
ZH_COORDINATOR = 900


async def answers_of_last_submission(study: Study) -> dict[str, Any]:
    async with session_factory(study.engine)() as session:
        decision = await session.scalar(select(TriageDecision).order_by(TriageDecision.id.desc()))
        assert decision is not None
        rows = await session.scalars(select(Answer).where(Answer.response_id == decision.response_id))
        return {row.item_id: row.value for row in rows}


async def checkin_up_to_hospital(study: Study) -> None:
    bot = study.bot
    study.clock.set(MONTH_1_OPENS)
    await study.jobs.tick()
    await bot.send(PATIENT, "/checkin")
    await bot.tap(PATIENT, "没有")  # fever
    await bot.tap(PATIENT, "都没有")  # symptoms
    for _ in range(3):  # doctor visit, infection diagnosed, antimicrobials
        await bot.tap(PATIENT, "没有")
    await bot.tap(PATIENT, "有")  # admitted to hospital since the last check-in


async def finish_checkin(study: Study, *, steroid: str = "泼尼松", amount: str = "2") -> None:
    bot = study.bot
    await bot.tap(PATIENT, "没有")  # positive test
    await bot.tap(PATIENT, steroid)
    await bot.send(PATIENT, amount)
    await bot.tap(PATIENT, "羟氯喹")
    await bot.tap(PATIENT, "完成")
    await bot.tap(PATIENT, "都没有")  # IL-2 reactions
    await bot.tap(PATIENT, "提交")
    await study.jobs.tick()


async def test_it_asks_every_monthly_question_about_the_time_since_the_last_checkin(study: Study) -> None:
    bot = study.bot
    study.clock.set(MONTH_1_OPENS)
    await study.jobs.tick()
    await bot.send(PATIENT, "/checkin")
    assert bot.last_text(PATIENT) == "(1/10) 自上次随访以来，您有没有发过烧（体温37.3℃或更高）？"
    await bot.tap(PATIENT, "没有")
    assert "(2/10) 自上次随访以来，您有没有下面这些情况？" in bot.last_text(PATIENT)
    await bot.tap(PATIENT, "都没有")
    for _ in range(3):
        await bot.tap(PATIENT, "没有")
    assert "(6/10) 自上次随访以来，您有没有住过院（在医院住了至少一晚）？" in bot.last_text(PATIENT)


async def test_it_raises_no_alarm_for_a_planned_infusion_stay(study: Study) -> None:
    await checkin_up_to_hospital(study)
    assert "您是因为什么住院的？" in study.bot.last_text(PATIENT)
    await study.bot.tap(PATIENT, "按计划住院治疗或检查")
    await study.bot.tap(PATIENT, "没有，现在不在医院")
    await finish_checkin(study)
    assert advice_to(study, PATIENT) == []
    assert study.alerts_to(CLINICIAN_A) == []
    async with session_factory(study.engine)() as session:
        decision = await session.scalar(select(TriageDecision))
    assert decision is not None
    assert (decision.level.value, decision.reasons) == ("none", [])


async def test_it_waits_for_the_reason_before_it_raises_the_alarm_for_a_stay(study: Study) -> None:
    await checkin_up_to_hospital(study)
    await study.jobs.tick()
    assert advice_to(study, PATIENT) == [], "no alarm before the patient said why"
    await study.bot.tap(PATIENT, "生了新的病")
    await study.jobs.tick()
    assert advice_to(study, PATIENT) == []
    await study.bot.tap(PATIENT, "没有，现在不在医院")
    await study.jobs.tick()
    [advice] = advice_to(study, PATIENT)
    assert "请立即拨打120，或者去最近的医院看急诊" in advice
    assert study.alerts_to(CLINICIAN_A)[0].startswith("🚨 URGENT · S001")


async def test_it_tells_a_patient_in_hospital_to_tell_the_ward_not_to_go_to_an_emergency_department(
    study: Study,
) -> None:
    await checkin_up_to_hospital(study)
    await study.bot.tap(PATIENT, "生了新的病")
    await study.bot.tap(PATIENT, "是的，现在还在住院")
    await study.jobs.tick()
    [advice] = advice_to(study, PATIENT)
    assert "请马上告诉病房的医生或护士" in advice
    assert "急诊" not in advice
    assert "我们已经通知了您的研究团队" in advice
    assert "stayed in hospital" in study.alerts_to(CLINICIAN_A)[0]


async def test_it_stores_the_steroid_as_told_and_its_prednisone_equivalent(study: Study) -> None:
    await checkin_up_to_hospital(study)
    await study.bot.tap(PATIENT, "按计划住院治疗或检查")
    await study.bot.tap(PATIENT, "没有，现在不在医院")
    await finish_checkin(study, steroid="甲泼尼龙", amount="1.5片")
    answers = await answers_of_last_submission(study)
    assert (answers["steroid"], answers["steroid_amount"], answers["prednisone_mg"]) == (
        "methylprednisolone",
        "1.5 tablets",
        7.5,  # 1.5 × 4 mg methylprednisolone = 6 mg = 7.5 mg prednisone
    )


async def test_it_copies_last_months_steroid_and_medicines_in_one_tap(study: Study) -> None:
    await checkin_up_to_hospital(study)
    await study.bot.tap(PATIENT, "按计划住院治疗或检查")
    await study.bot.tap(PATIENT, "没有，现在不在医院")
    await study.bot.tap(PATIENT, "没有")  # positive test
    first_steroid_question = study.bot.stub.screen(PATIENT)[-1]
    assert "和上个月一样" not in [label for label, _data in first_steroid_question.buttons], "nothing to copy yet"
    await study.bot.tap(PATIENT, "泼尼松")
    await study.bot.send(PATIENT, "7.5毫克")
    await study.bot.tap(PATIENT, "羟氯喹")
    await study.bot.tap(PATIENT, "泰它西普")
    await study.bot.tap(PATIENT, "完成")
    await study.bot.tap(PATIENT, "都没有")
    await study.bot.tap(PATIENT, "提交")

    study.clock.set(MONTH_2_OPENS)
    await study.jobs.tick()
    await study.bot.send(PATIENT, "/checkin")
    await study.bot.tap(PATIENT, "没有")
    await study.bot.tap(PATIENT, "都没有")
    for _ in range(5):  # doctor visit, infection diagnosed, antimicrobials, hospital, positive test
        await study.bot.tap(PATIENT, "没有")
    await study.bot.tap(PATIENT, "和上个月一样")  # steroid and its amount
    assert "✔ 激素：泼尼松（强的松），每片5毫克" in study.bot.last_text(PATIENT)
    await study.bot.tap(PATIENT, "和上个月一样")  # the other medicines
    await study.bot.tap(PATIENT, "都没有")  # IL-2 reactions
    summary = study.bot.last_text(PATIENT)
    assert "• 每天激素用量：每天7.5毫克" in summary
    assert "• 其他药物：羟氯喹、泰它西普" in summary
    await study.bot.tap(PATIENT, "提交")
    answers = await answers_of_last_submission(study)
    assert answers["steroid_amount"] == "7.5 mg"
    assert answers["prednisone_mg"] == 7.5
    assert answers["immunosuppressants"] == ["hydroxychloroquine", "telitacicept"]


async def test_it_reads_a_temperature_typed_in_chinese_numerals(study: Study) -> None:
    bot = study.bot
    await bot.send(PATIENT, "/report")
    await bot.tap(PATIENT, "有")
    await bot.send(PATIENT, "三十八度五")
    assert "✔ 最高体温：38.5℃" in bot.last_text(PATIENT)
    await bot.tap(PATIENT, "寒战")
    await bot.tap(PATIENT, "完成")
    await bot.tap(PATIENT, "没有")
    await bot.tap(PATIENT, "提交")
    await study.jobs.tick()
    async with session_factory(study.engine)() as session:
        decision = await session.scalar(select(TriageDecision))
        escalation = await session.scalar(select(Escalation))
    assert decision is not None
    assert decision.reasons == ["max_temp_infection", "fever_with_chills", "fever"]
    assert escalation is not None
    alert = study.alerts_to(CLINICIAN_A)[0]
    assert "Reasons: temperature 38.0 °C or higher; fever with rigors\n" in alert


async def test_it_treats_fever_with_a_headache_and_stiff_neck_as_urgent(study: Study) -> None:
    bot = study.bot
    await bot.send(PATIENT, "/report")
    await bot.tap(PATIENT, "有")
    await bot.send(PATIENT, "38度2")
    await bot.tap(PATIENT, "头痛得厉害，脖子发硬")
    await study.jobs.tick()
    assert len(advice_to(study, PATIENT)) == 1, "urgent as soon as it is answered"


async def checkin_with_a_mild_fever(study: Study) -> list[str]:
    bot = study.bot
    study.clock.set(MONTH_1_OPENS)
    await study.jobs.tick()
    await bot.send(PATIENT, "/checkin")
    await bot.tap(PATIENT, "有")
    await bot.send(PATIENT, "37.8")
    await bot.send(PATIENT, "1")
    await bot.tap(PATIENT, "都没有")
    for _ in range(4):  # doctor visit, infection diagnosed, antimicrobials, hospital
        await bot.tap(PATIENT, "没有")
    await finish_checkin(study)
    async with session_factory(study.engine)() as session:
        decision = await session.scalar(select(TriageDecision))
    assert decision is not None
    return decision.reasons


async def test_it_links_a_reported_fever_to_a_dose_confirmed_in_the_month_it_covers(study: Study) -> None:
    await study.jobs.tick()  # the first IL-2 day, at the patient's reminder time
    assert study.bot.last_text(PATIENT).startswith("💉 今天该打IL-2针了：第1疗程第1针（共7针），剂量100万单位（IU）。")
    await study.bot.tap(PATIENT, "已打针")
    assert await checkin_with_a_mild_fever(study) == ["fever", "possible_il2_reaction"]


async def test_it_does_not_link_a_fever_to_doses_that_were_not_confirmed(study: Study) -> None:
    assert await checkin_with_a_mild_fever(study) == ["fever"]


async def test_it_never_reads_as_stop_your_medicine_after_the_planned_cycles(study: Study) -> None:
    study.clock.set(datetime(2026, 6, 10, 1, 0, tzinfo=UTC))  # after the third cycle
    await study.bot.send(PATIENT, "/doses")
    text = study.bot.last_text(PATIENT)
    assert "目前还没有安排下一次打IL-2针。是否继续打，由研究医生决定。其他药请继续按医生的嘱咐用。" in text
    assert "没有安排其他用药了" not in text


async def test_it_shows_a_whole_chinese_checkin_as_the_catalog_says(study: Study) -> None:
    """Every question and every button of a check-in, as the patient sees them, are the zh_CN catalog's
    translations of the form's msgids: nothing shown in English, nothing assembled outside the catalog."""
    _ = gettext_for("zh_CN")
    bot = study.bot
    study.clock.set(MONTH_1_OPENS)
    await study.jobs.tick()
    await bot.send(PATIENT, "/checkin")
    choices = {
        "fever": "yes",
        "max_temp": "38.6",
        "fever_days": "2",
        "symptoms": "cough",
        "hospitalized": "yes",
        "hospital_reason": "planned_treatment",
        "in_hospital_now": "no",
        "steroid": "prednisone",
        "steroid_amount": "2",
        "immunosuppressants": "hydroxychloroquine",
    }
    asked = []
    while not bot.last_text(PATIENT).startswith(_("Please check your answers:")):
        message = bot.stub.screen(PATIENT)[-1]
        question = message.text.split("\n\n")[-1]
        matching = [item for item in FORM_ITEMS[FormKind.CHECKIN].values() if question.endswith(") " + _(item.prompt))]
        assert len(matching) == 1, f"not the catalog's translation of one question: {question}"
        item = matching[0]
        item_id = item.id
        asked.append(item_id)
        labels = [label.removeprefix("✅ ") for label, data in message.buttons if data.startswith("q|")]
        expected = [_(item.label(code)) for code in item.choices()] if item.kind is not Kind.DOSE else []
        if item.kind is Kind.DOSE:
            expected = list(item.suggestions)
        if item.kind is Kind.MULTI:
            expected.append(_("Done ✔"))
        assert labels == expected, item_id
        wanted = choices.get(item_id, "none" if item.kind is Kind.MULTI else "no")
        if item.kind in (Kind.TEMPERATURE, Kind.INTEGER, Kind.DOSE):
            await bot.send(PATIENT, wanted)
        else:
            await bot.tap(PATIENT, _(item.label(wanted)))
            if item.kind is Kind.MULTI and wanted != "none":
                await bot.tap(PATIENT, _("Done ✔"))
    assert asked == [item.id for item in FORM_ITEMS[FormKind.CHECKIN].values() if item.id not in ("organism",)]
    summary = bot.last_text(PATIENT)
    for line in summary.split("\n\n")[1].splitlines():
        assert line.startswith("• "), line
        assert "：" in line, line
    assert "• 最高体温：38.6℃" in summary
    assert "• 症状：咳嗽" in summary
    assert "• 住院原因：按计划住院治疗或检查（比如输液用药、做穿刺）" in summary
    assert "• 每天激素用量：每天2片" in summary
    await bot.tap(PATIENT, _("Submit"))


async def test_it_tells_each_coordinator_about_a_patient_in_their_own_language(study: Study) -> None:
    async with session_factory(study.engine)() as session:
        staff, _code = await add_staff(
            session,
            site_code="PKU",
            role=StaffRole.COORDINATOR,
            name="Nurse Zhang",
            actor="cli:test",
            now=study.clock.now(),
            invite_valid_days=7,
        )
        staff.telegram_user_id, staff.language = ZH_COORDINATOR, "zh_CN"
        patient = await session.scalar(select(Patient).where(Patient.study_id == "S001"))
        assert patient is not None
        await mark_unreachable(session, patient=patient, why="403", now=study.clock.now())
        await session.commit()
    async with session_factory(study.engine)() as session:
        patient = await session.scalar(select(Patient).where(Patient.study_id == "S001"))
        assert patient is not None
        await mark_reachable(session, patient=patient, now=study.clock.now())
        await session.commit()
    await study.bot.send(PATIENT, "/stop")
    await study.bot.tap(PATIENT, "退出研究")
    await study.jobs.tick()
    assert [text for text in study.bot.stub.texts_to(ZH_COORDINATOR) if not text.startswith("📰")] == [
        "无法通过Telegram联系S001（患者屏蔽了机器人或已停用Telegram）。",
        "S001已恢复，可以通过Telegram联系。",
        "S001 通过机器人撤回知情同意（/stop）：不得再收集其数据。",
    ]
    assert study.bot.stub.texts_to(COORDINATOR_A)[-1] == (
        "S001 withdrew consent through the bot (/stop): no more data may be collected."
    )
