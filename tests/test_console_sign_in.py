"""Signing in to the study console through Telegram: one-time links, the session cookie, its limits, CSRF,
the headers on every page."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.services.sites import add_staff
from bot.simulator.harness import Harness
from models import AuditEvent, Staff, StaffRole, WebSession, WebSignInLink
from tests.bot_fixtures import RunBot
from tests.console_fixtures import WEB_SECRET, WEB_URL, console_client, linked_staff, sign_in_link, signed_in
from tests.factories import make_site

LINK = re.compile(r"https://console\.example\.org(/sign-in/[A-Za-z0-9_-]{32})$")


async def test_it_sends_a_linked_staff_member_a_one_time_link_on_web(
    run_bot: RunBot, engine: AsyncEngine, clock: FakeClock
) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
        _staff, code = await add_staff(
            session, site_code="PKU", role=StaffRole.CLINICIAN, name="Dr Li", actor="cli:test", now=clock.now(),
            invite_valid_days=7,
        )  # fmt: skip
    async with run_bot(web_url=WEB_URL, web_secret=WEB_SECRET) as bot:
        await bot.send(101, f"/start {code}", language="en")
        await bot.send(101, "/web", language="en")
        reply = bot.last_text(101)
        sent = [call for call in bot.stub.sent_to(101) if call.method == "sendMessage"][-1]
        await bot.send(999, "/web", language="en")
        assert bot.last_text(999) == "This is for study staff only."
    assert reply.startswith("Your sign-in link to the study console. It works once, for 10 minutes:\n")
    assert sent.params["link_preview_options"]["is_disabled"] is True  # a preview would use the link up
    found = LINK.search(reply)
    assert found is not None
    async with console_client(engine, clock) as client:
        first = await client.get(found.group(1))
        assert first.status_code == 200
        assert (await client.get("/")).status_code == 200
    async with console_client(engine, clock) as other:
        again = await other.get(found.group(1))
        assert again.status_code == 400
        assert "no longer works" in again.text
        assert (await other.get("/")).status_code == 401


async def test_it_says_so_when_the_console_is_not_set_up(bot: Harness, engine: AsyncEngine, clock: FakeClock) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
        _staff, code = await add_staff(
            session, site_code="PKU", role=StaffRole.PI, name="Prof Zhang", actor="cli:test", now=clock.now(),
            invite_valid_days=7,
        )  # fmt: skip
    await bot.send(102, f"/start {code}", language="en")
    await bot.send(102, "/web", language="en")
    assert bot.last_text(102) == "The study console is not set up yet. Please ask the study's administrator."


async def test_it_tells_staff_about_web_in_their_help_in_their_language(
    bot: Harness, engine: AsyncEngine, clock: FakeClock
) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
    await linked_staff(engine, clock, telegram_user_id=103, language="en")
    await linked_staff(engine, clock, name="Nurse Wang", telegram_user_id=104, language="zh_CN")
    await bot.send(103, "/help", language="en")
    await bot.send(104, "/help", language="zh-hans")
    assert "/web – a one-time link to sign in to the study console" in bot.last_text(103)
    assert "/web – 获取研究控制台（网页）的一次性登录链接" in bot.last_text(104)


async def test_it_exchanges_the_link_for_a_strict_http_only_cookie_and_stores_only_hashes(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
    staff = await linked_staff(engine, clock)
    path = await sign_in_link(engine, clock, staff)
    async with console_client(engine, clock) as client:
        response = await client.get(path)
        assert response.status_code == 200
        assert '<meta http-equiv="refresh" content="0; url=/">' in response.text
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Secure" in cookie  # the console is behind https
        home = await client.get("/")
        assert home.status_code == 200
        assert "Dr Li" in home.text
    token = path.rsplit("/", 1)[1]
    session_token = cookie.split("=", 1)[1].split(".", 1)[0]
    async with session_factory(engine)() as session:
        hashes = [*await session.scalars(select(WebSignInLink.token_hash))]
        hashes += [*await session.scalars(select(WebSession.token_hash))]
        actions = [event.action for event in await session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert len(hashes) == 2
    assert token not in hashes
    assert session_token not in hashes
    assert actions[-2:] == ["web.sign_in_link", "web.sign_in"]


async def test_it_refuses_a_link_after_ten_minutes(engine: AsyncEngine, clock: FakeClock) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
    staff = await linked_staff(engine, clock)
    fresh, stale = await sign_in_link(engine, clock, staff), await sign_in_link(engine, clock, staff)
    clock.advance(timedelta(minutes=9, seconds=59))
    async with console_client(engine, clock) as client:
        assert (await client.get(fresh)).status_code == 200
    clock.advance(timedelta(seconds=1))
    async with console_client(engine, clock) as client:
        assert (await client.get(stale)).status_code == 400
        assert (await client.get("/")).status_code == 401
        assert (await client.get("/sign-in/forged")).status_code == 400
        assert (await client.get("/sign-in/" + "x" * 500)).status_code == 400


async def test_it_ends_a_session_after_30_idle_minutes_and_after_12_hours(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
    staff = await linked_staff(engine, clock)
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, staff)
        for _ in range(23):  # a request every 29 minutes keeps it alive for 11 h 7 min
            clock.advance(timedelta(minutes=29))
            assert (await client.get("/")).status_code == 200
        clock.advance(timedelta(minutes=29))  # 11 h 36 min
        assert (await client.get("/")).status_code == 200
        clock.advance(timedelta(minutes=25))  # 12 h 1 min
        assert (await client.get("/")).status_code == 401
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, staff)
        clock.advance(timedelta(minutes=30, seconds=1))
        refused = await client.get("/")
        assert refused.status_code == 401
        assert "Send /web to the study bot" in refused.text
        clock.advance(timedelta(seconds=1))
        assert (await client.get("/")).status_code == 401  # ended, not revived


async def test_it_refuses_a_deactivated_staff_member_on_the_next_request(engine: AsyncEngine, clock: FakeClock) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
    staff = await linked_staff(engine, clock)
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, staff)
        unused_link = await sign_in_link(engine, clock, staff)
        async with session_factory(engine)() as session:
            await session.execute(update(Staff).where(Staff.id == staff.id).values(active=False))
            await session.commit()
        assert (await client.get("/")).status_code == 401
        assert (await client.get(unused_link)).status_code == 400


async def test_it_signs_out_only_with_the_sessions_csrf_token(engine: AsyncEngine, clock: FakeClock) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
    staff = await linked_staff(engine, clock)
    colleague = await linked_staff(engine, clock, name="Dr Wu", telegram_user_id=106)
    async with console_client(engine, clock) as other:
        other_token = await signed_in(other, engine, clock, colleague)
    async with console_client(engine, clock) as client:
        token = await signed_in(client, engine, clock, staff)
        assert (await client.post("/sign-out")).status_code == 403
        assert (await client.post("/sign-out", data={"csrf_token": other_token})).status_code == 403
        assert (await client.get("/")).status_code == 200
        cookie = client.cookies["followup_session"]
        signed_out = await client.post("/sign-out", data={"csrf_token": token})
        assert signed_out.status_code == 200
        assert "You are not signed in." in signed_out.text
        assert (await client.get("/")).status_code == 401
        client.cookies.clear()
        client.cookies.set("followup_session", cookie)
        assert (await client.get("/")).status_code == 401  # the old cookie is dead on the server too


async def test_it_refuses_a_tampered_cookie(engine: AsyncEngine, clock: FakeClock) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
    staff = await linked_staff(engine, clock)
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, staff)
        cookie = client.cookies["followup_session"]
        token, mac = cookie.rsplit(".", 1)
        client.cookies.clear()
        client.cookies.set("followup_session", f"{token}.{'0' * len(mac)}")
        assert (await client.get("/")).status_code == 401


async def test_it_sends_a_strict_content_security_policy_and_escapes_what_it_shows(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
    staff = await linked_staff(engine, clock, name="<script>alert(1)</script>")
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, staff)
        responses = [
            await client.get("/"),
            await client.get("/static/console.css"),
            await client.get("/no-such-page"),
            await client.post("/sign-out"),
        ]
    for response in responses:
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src" not in policy  # so no script at all, inline or not
        assert "unsafe-inline" not in policy
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
    home = responses[0].text
    assert "<script>" not in home
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in home
    assert " style=" not in home
    assert responses[2].status_code == 404


async def test_it_greets_a_visitor_in_chinese_unless_their_browser_asks_for_english(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    async with console_client(engine, clock) as client:
        chinese = await client.get("/", headers={"accept-language": "zh-CN,zh;q=0.9"})
        unknown = await client.get("/", headers={"accept-language": ""})
        english = await client.get("/")
    assert "您尚未登录。" in chinese.text
    assert "您尚未登录。" in unknown.text
    assert "You are not signed in." in english.text
