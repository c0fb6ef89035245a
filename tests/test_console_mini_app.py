"""Signing in from the Telegram Mini App: Telegram's initData, checked by its HMAC with the bot token and its age,
opens the same session as a sign-in link, for a linked, active staff member only. The /web reply carries the
Mini App button when the console is behind https."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from urllib.parse import quote, urlencode

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.services.staff_changes import deactivate_staff
from models import AuditEvent, WebSession
from tests.bot_fixtures import RunBot
from tests.browser_fixtures import Site
from tests.console_fixtures import BOT_TOKEN, WEB_SECRET, WEB_URL, console_client, linked_staff
from tests.factories import make_site

STAFF_USER = 101


def init_data(
    clock: FakeClock,
    *,
    user_id: int = STAFF_USER,
    age: timedelta = timedelta(0),
    token: str = BOT_TOKEN,
    **changed: str,
) -> str:
    """initData as Telegram signs it (core.telegram.org/bots/webapps, written out here independently of the
    console's code): HMAC-SHA256 of the sorted key=value lines, keyed with HMAC-SHA256("WebAppData", token).
    `changed` fields are altered after signing."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": user_id, "first_name": "Li", "language_code": "zh-hans"}, separators=(",", ":")),
        "auth_date": str(int((clock.now() - age).timestamp())),
        "signature": "e4bKHuw6pAJb8Qb-n-K3dVpzEdmWl5mQ9NZcNNTGrsRmGbqV9VM-QvP2LuzVuV1Ox9ChCJ8U3Z4vLiBzRn4BDw",
    }
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    key = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(key, check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, **changed}, quote_via=quote)


async def sessions_opened(engine: AsyncEngine) -> int:
    async with session_factory(engine)() as session:
        return await session.scalar(select(func.count()).select_from(WebSession)) or 0


async def post_init_data(client: httpx.AsyncClient, data: str) -> httpx.Response:
    return await client.post("/mini-app", data={"init_data": data})


async def test_it_signs_a_linked_staff_member_in_with_telegrams_init_data(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
    await linked_staff(engine, clock, telegram_user_id=STAFF_USER)
    data = init_data(clock, age=timedelta(minutes=9))
    async with console_client(engine, clock) as client:
        page = await client.get("/mini-app")
        signed = await post_init_data(client, data)
        home = await client.get("/")
    clock.advance(timedelta(minutes=2))
    async with console_client(engine, clock) as replaying:
        replayed = await post_init_data(replaying, data)
    assert replayed.status_code == 400  # the same initData, now 11 minutes old
    assert "set-cookie" not in replayed.headers
    assert page.status_code == 200
    assert '<script src="/static/mini-app.js" defer></script>' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "default-src 'none'" in policy
    assert signed.status_code == 200
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" in cookie
    assert "script-src" not in signed.headers["content-security-policy"]  # only the Mini App's page runs a script
    assert home.status_code == 200
    assert "Dr Li" in home.text
    async with session_factory(engine)() as session:
        event = await session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert event is not None
    assert (event.action, event.after) == ("web.sign_in", {"how": "mini_app"})


async def test_it_refuses_init_data_that_is_tampered_with_foreign_stale_or_malformed(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
    await linked_staff(engine, clock, telegram_user_id=STAFF_USER)
    other_user = json.dumps({"id": 999, "first_name": "Mallory"}, separators=(",", ":"))
    refused = {
        "another user put in": init_data(clock, user=other_user),
        "auth_date moved": init_data(clock, auth_date=str(int(clock.now().timestamp()) + 5)),
        "hash changed": init_data(clock, hash="0" * 64),
        "hash not hex": init_data(clock, hash="é" * 64),
        "hash missing": init_data(clock).split("&hash=")[0],
        "another bot's token": init_data(clock, token="987654321:AAHother-bot-token-0123456789abcdef"),
        "stale (11 minutes old)": init_data(clock, age=timedelta(minutes=11)),
        "from the future": init_data(clock, age=-timedelta(minutes=5)),
        "a field twice": init_data(clock) + "&auth_date=1",
        "not a query string": "not initData at all",
        "too long": init_data(clock) + "&x=" + "a" * 5000,
        "empty": "",
    }
    async with console_client(engine, clock) as client:
        for case, data in refused.items():
            response = await post_init_data(client, data)
            assert response.status_code == 400, case
            assert "set-cookie" not in response.headers, case
            assert "Telegram could not sign you in." in response.text, case
        no_field = await client.post("/mini-app", data={})
        assert no_field.status_code == 400
        assert (await client.get("/")).status_code == 401
    assert await sessions_opened(engine) == 0


async def test_it_refuses_an_unknown_or_deactivated_user(engine: AsyncEngine, clock: FakeClock) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
    staff = await linked_staff(engine, clock, telegram_user_id=STAFF_USER)
    async with console_client(engine, clock) as client:
        assert (await post_init_data(client, init_data(clock, user_id=4242))).status_code == 400
        async with session_factory(engine)() as session:
            await deactivate_staff(session, staff_id=staff.id, reason="left", actor="cli:test", now=clock.now())
        assert (await post_init_data(client, init_data(clock))).status_code == 400
    assert await sessions_opened(engine) == 0


async def test_it_offers_the_mini_app_button_on_web_only_behind_https(
    run_bot: RunBot, engine: AsyncEngine, clock: FakeClock
) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock)
    await linked_staff(engine, clock, telegram_user_id=STAFF_USER)
    async with run_bot(web_url=WEB_URL, web_secret=WEB_SECRET) as bot:
        await bot.send(STAFF_USER, "/web", language="en")
        https_reply = [call for call in bot.stub.sent_to(STAFF_USER) if call.method == "sendMessage"][-1]
    async with run_bot(web_url="http://127.0.0.1:8080", web_secret=WEB_SECRET) as bot:
        await bot.send(STAFF_USER, "/web", language="en")
        http_reply = [call for call in bot.stub.sent_to(STAFF_USER) if call.method == "sendMessage"][-1]
    button = https_reply.params["reply_markup"]["inline_keyboard"][0][0]
    assert button == {"text": "Open the console in Telegram", "web_app": {"url": WEB_URL + "/mini-app"}}
    assert "reply_markup" not in http_reply.params
    assert http_reply.params["text"].startswith("Your sign-in link to the study console.")


async def test_it_signs_in_in_a_browser_from_the_fragment_telegram_opens_the_page_with(
    console_site: Site, clock: FakeClock
) -> None:
    site, page = console_site, console_site.page
    async with session_factory(site.engine)() as session:
        await make_site(session, clock)
    await linked_staff(site.engine, clock, telegram_user_id=STAFF_USER)
    fragment = urlencode({"tgWebAppData": init_data(clock), "tgWebAppVersion": "8.0", "tgWebAppPlatform": "ios"})
    await page.goto(f"{site.url}/mini-app#{fragment}")
    await page.wait_for_url(site.url + "/")
    assert await page.inner_text("h1") == "Follow-up board"
    assert site.refused == []
    await page.goto(f"{site.url}/mini-app")
    assert await page.locator("#mini-app-outside").is_visible()
