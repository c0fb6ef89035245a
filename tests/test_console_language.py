"""The console speaks the staff member's language (zh_CN or en), switchable on every page."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from models import AuditEvent, Patient, Staff
from tests.console_fixtures import console_client, linked_staff, signed_in, staff_with
from tests.factories import make_site
from tests.study_seed import seed_study


async def test_it_shows_chinese_to_a_chinese_speaker_and_switches_to_english(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
    staff = await linked_staff(engine, clock, language="zh_CN")
    async with console_client(engine, clock) as client:
        csrf = await signed_in(client, engine, clock, staff)
        board = (await client.get("/?group=il2")).text
        assert '<html lang="zh-CN">' in board
        assert "<h1>随访总览</h1>" in board
        assert '<input type="hidden" name="next" value="/?group=il2">' in board
        switched = await client.post("/language", data={"csrf_token": csrf, "language": "en", "next": "/?group=il2"})
        assert (switched.status_code, switched.headers["location"]) == (303, "/?group=il2")
        english = (await client.get("/?group=il2")).text
        assert '<html lang="en">' in english
        assert "<h1>Follow-up board</h1>" in english
        assert (await client.post("/language", data={"language": "zh_CN", "next": "/"})).status_code == 403
        assert (await client.post("/language", data={"csrf_token": csrf, "language": "fr"})).status_code == 400
        away = await client.post(
            "/language", data={"csrf_token": csrf, "language": "zh_CN", "next": "//evil.example/x"}
        )
        assert away.headers["location"] == "/"
    async with session_factory(engine)() as session:
        assert (await session.get_one(Staff, staff.id)).language == "zh_CN"  # Telegram speaks it too
        changes = [
            event.after
            for event in await session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.language"))
        ]
    assert changes == [{"language": "en"}, {"language": "zh_CN"}]


async def test_it_offers_the_switch_on_every_page(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, await staff_with(engine, seeded.admin))
        for path in ("/", "/alerts", "/patients/1", "/enroll", "/exports", "/report"):
            page = await client.get(path)
            assert page.status_code == 200, path
            assert 'action="/language"' in page.text, path
            assert '<button type="submit" name="language" value="zh_CN" lang="zh-CN">中文</button>' in page.text


async def test_it_shows_why_an_action_was_refused_in_the_readers_language(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    coordinator = await staff_with(engine, seeded.coordinator_a)
    async with session_factory(engine)() as session:
        stored = await session.get_one(Staff, coordinator.id)
        stored.language = "zh_CN"
        patient = await session.scalar(select(Patient).where(Patient.study_id == "PKU-003"))
        await session.commit()
    assert patient is not None
    async with console_client(engine, clock) as client:
        csrf = await signed_in(client, engine, clock, coordinator)
        fields = {"month": "61", "item_id": "fever", "value": "yes", "reason": "typo"}
        month = await client.post(f"/patients/{patient.id}/correct", data={"csrf_token": csrf, **fields})
        fields = {"month": "1", "item_id": "fever", "value": "yes", "reason": "typo"}
        missing = await client.post(f"/patients/{patient.id}/correct", data={"csrf_token": csrf, **fields})
        enroll = {"study_id": "PKU-001", "site": "PKU", "group": "il2"}
        enrolled = await client.post("/enroll", data={"csrf_token": csrf, **enroll})
        report = await client.post("/report", data={"csrf_token": csrf, "cutoff": "2020-01-01"})
        not_a_date = await client.post("/report", data={"csrf_token": csrf, "cutoff": "soon"})
    assert month.status_code == missing.status_code == enrolled.status_code == report.status_code == 400
    assert "未执行：随访月份：请填写 1 到 60 之间的数字。" in month.text
    assert "PKU-003 没有已提交的第 1 个月随访问卷。" in missing.text
    assert "研究编号：PKU-001 已经入组。" in enrolled.text
    assert "截止日期之前没有可纳入报告的患者。" in report.text
    assert "截止日期：soon 不是有效日期（格式：YYYY-MM-DD）。" in not_a_date.text
    for response in (month, missing, enrolled, report, not_a_date):
        assert "month:" not in response.text
        assert "is enrolled already" not in response.text
