"""A refused or missing page speaks the signed-in staff member's language, whatever the browser's; a visitor who
is not signed in reads their browser's."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from tests.console_fixtures import console_client, linked_staff, signed_in
from tests.factories import make_site


async def test_it_shows_a_refused_or_missing_page_in_the_staff_members_language(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock, code="PKU")
    clinician = await linked_staff(engine, clock, language="zh_CN")
    async with console_client(engine, clock) as client:  # the browser asks for English
        visitor = await client.get("/nowhere")
        await signed_in(client, engine, clock, clinician)
        not_allowed = await client.get("/enroll")  # coordinators and admins enroll
        missing = await client.get("/patients/999999")
        bad_filter = await client.get("/?group=placebo")
    assert (visitor.status_code, not_allowed.status_code, missing.status_code, bad_filter.status_code) == (
        404,
        403,
        404,
        400,
    )
    assert "Not found" in visitor.text
    assert '<html lang="zh-CN">' in missing.text
    assert "<h1>未找到</h1>" in missing.text
    for refused in (not_allowed, bad_filter):
        assert "<h1>请求被拒绝</h1>" in refused.text
        assert "This request was refused" not in refused.text
    assert "Back to the study console" not in missing.text + not_allowed.text + bad_filter.text
