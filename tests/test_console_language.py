"""The console speaks the staff member's language (zh_CN or en), switchable on every page."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from models import AuditEvent, Staff
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
