"""The console in a real browser: uvicorn serving the app on a free port (same event loop, test database, fake
clock) and Debian's Chromium driven by Playwright. Playwright's own browsers are never downloaded."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.config import SHIPPED_PROTOCOL
from bot.db import session_factory
from bot.protocol import load_protocol
from bot.web.app import create_app
from bot.web.deps import Console
from models import Staff
from tests.console_fixtures import BOT_TOKEN, WEB_SECRET, sign_in_link

CHROMIUM = Path("/usr/bin/chromium")


def _chromium_missing() -> bool:
    return not CHROMIUM.exists()


@dataclass
class Site:
    """The served console and a browser page that records what the CSP blocked."""

    url: str
    page: Page
    engine: AsyncEngine
    clock: FakeClock
    refused: list[str]

    async def sign_in(self, staff: Staff) -> None:
        await self.page.goto(self.url + await sign_in_link(self.engine, self.clock, staff))
        await self.page.wait_for_url(self.url + "/")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if _chromium_missing():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Chromium at {CHROMIUM} (.ci/run installs the chromium package)")
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium to run the browser tests")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest.fixture
async def console_site(browser: Browser, engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[Site]:
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()  # the browser's first connection waits in the backlog until uvicorn accepts it
    url = f"http://127.0.0.1:{listening.getsockname()[1]}"
    context = Console(
        base_url=url,
        secret=WEB_SECRET,
        sessions=session_factory(engine),
        clock=clock,
        protocol=load_protocol(SHIPPED_PROTOCOL),
        bot_username="sle_followup_bot",
        bot_token=BOT_TOKEN,
    )
    server = uvicorn.Server(uvicorn.Config(create_app(context), log_level="warning", access_log=False, ws="none"))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    page = await (await browser.new_context(locale="en-US", accept_downloads=True)).new_page()
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    yield Site(url, page, engine, clock, refused)
    await page.context.close()
    server.should_exit = True
    await serving
    listening.close()
