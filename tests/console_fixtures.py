"""The study console under test: the real ASGI app over httpx, on the test database and the fake clock."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.config import SHIPPED_PROTOCOL
from bot.db import session_factory
from bot.protocol import load_protocol
from bot.services.sites import add_staff
from bot.services.web_access import issue_sign_in_link, sign_in_path
from bot.web.app import create_app
from bot.web.deps import Console
from models import Staff, StaffRole

WEB_URL = "https://console.example.org"
WEB_SECRET = "k3Jq9vZ2xW7mB4nR8tY1pL6sD0fH5gA2cE9uV3iO7wQ"
BOT_TOKEN = "123456789:AAE-mini-app-test-token-0123456789ab"  # signs the Mini App's initData in tests
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def console_client(engine: AsyncEngine, clock: FakeClock) -> httpx.AsyncClient:
    context = Console(
        base_url=WEB_URL,
        secret=WEB_SECRET,
        sessions=session_factory(engine),
        clock=clock,
        protocol=load_protocol(SHIPPED_PROTOCOL),
        bot_username="sle_followup_bot",
        bot_token=BOT_TOKEN,
    )
    app = create_app(context)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url=WEB_URL, headers={"accept-language": "en-GB,en;q=0.9"})


async def linked_staff(
    engine: AsyncEngine,
    clock: FakeClock,
    *,
    site: str = "PKU",
    role: StaffRole = StaffRole.CLINICIAN,
    name: str = "Dr Li",
    telegram_user_id: int = 101,
    language: str = "en",
) -> Staff:
    """A staff member who has linked Telegram (as the invite would have done)."""
    async with session_factory(engine)() as session:
        staff, _code = await add_staff(
            session, site_code=site, role=role, name=name, actor="cli:test", now=clock.now(), invite_valid_days=7
        )
        staff.telegram_user_id, staff.language = telegram_user_id, language
        await session.commit()
        return staff


async def staff_with(engine: AsyncEngine, telegram_user_id: int) -> Staff:
    async with session_factory(engine)() as session:
        found = await session.scalar(select(Staff).where(Staff.telegram_user_id == telegram_user_id))
    assert found is not None
    return found


async def sign_in_link(engine: AsyncEngine, clock: FakeClock, staff: Staff) -> str:
    async with session_factory(engine)() as session:
        token = await issue_sign_in_link(session, staff_id=staff.id, actor="cli:test", now=clock.now())
    return sign_in_path(token)


async def signed_in(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, staff: Staff) -> str:
    """Sign `client` in as `staff`; returns the page's CSRF token."""
    response = await client.get(await sign_in_link(engine, clock, staff))
    assert response.status_code == 200
    home = await client.get("/")
    assert home.status_code == 200
    found = CSRF.search(home.text)
    assert found is not None
    return found.group(1)
