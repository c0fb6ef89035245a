"""Screenshots of the study console for the docs, taken in Debian's Chromium on a `followup demo` database.

    .venv/bin/followup demo --dir /tmp/demo --patients 40 --days 300
    .venv/bin/python docs/screenshots.py /tmp/demo/demo.db

writes docs/console-board.png and docs/console-patient.png (the clock is set to the demo's last event).
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import sys
from pathlib import Path

import uvicorn
from playwright.async_api import async_playwright
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.config import SHIPPED_PROTOCOL
from bot.db import create_engine, session_factory
from bot.protocol import load_protocol
from bot.services.web_access import issue_sign_in_link, sign_in_path
from bot.web.app import create_app
from bot.web.deps import Console
from models import AuditEvent, Patient, PatientStatus, Staff, StaffRole

DOCS = Path(__file__).parent


async def main(database: Path) -> None:
    engine = create_engine(f"sqlite:///{database}", durable=False)
    sessions = session_factory(engine)
    async with sessions() as session:
        last = await session.scalar(select(func.max(AuditEvent.occurred_at)))
        staff = await session.scalar(
            select(Staff).where(Staff.role == StaffRole.COORDINATOR, Staff.telegram_user_id.is_not(None))
        )
        assert last is not None, "a followup demo database"
        assert staff is not None, "a followup demo database (with a linked coordinator)"
        staff.language = "en"
        await session.commit()
        clock = FakeClock(last)
        token = await issue_sign_in_link(session, staff_id=staff.id, actor="cli:screenshots", now=clock.now())
        patient = await session.scalar(
            select(Patient)
            .where(Patient.site_id == staff.site_id, Patient.status == PatientStatus.INFECTED)
            .order_by(Patient.study_id)
        )
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    url = f"http://127.0.0.1:{listening.getsockname()[1]}"
    context = Console(
        base_url=url,
        secret=secrets.token_hex(32),
        sessions=sessions,
        clock=clock,
        protocol=load_protocol(SHIPPED_PROTOCOL),
        bot_username="sle_followup_bot",
    )
    server = uvicorn.Server(uvicorn.Config(create_app(context), log_level="warning", access_log=False, ws="none"))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1900, "height": 950}, locale="en-US")
        await page.goto(url + sign_in_path(token))
        await page.wait_for_url(url + "/")
        await page.screenshot(path=str(DOCS / "console-board.png"))
        if patient is not None:
            await page.goto(f"{url}/patients/{patient.id}")
            await page.screenshot(path=str(DOCS / "console-patient.png"), full_page=False)
        await browser.close()
    server.should_exit = True
    await serving
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
