"""Screenshots of the comparison report for the docs, in both languages, taken in Debian's Chromium on a
`followup demo` database:

    .venv/bin/followup demo --dir /tmp/demo --patients 60
    .venv/bin/python docs/report_screenshots.py /tmp/demo/demo.db

writes docs/report-en.png and docs/report-zh_CN.png (the top of report.html, 1200 × 3000 pixels); the cut-off is
the day of the demo's last event.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright
from sqlalchemy import func, select

from bot.config import SHIPPED_PROTOCOL
from bot.db import create_engine, session_factory
from bot.protocol import load_protocol
from bot.report_files import write_report
from bot.services.report import load_study
from models import AuditEvent

DOCS = Path(__file__).parent
LANGUAGES = ("en", "zh_CN")


async def main(database: Path) -> None:
    engine = create_engine(f"sqlite:///{database}", durable=False)
    async with session_factory(engine)() as session:
        last = await session.scalar(select(func.max(AuditEvent.occurred_at)))
        assert last is not None, "a followup demo database"
        data = await load_study(session, protocol=load_protocol(SHIPPED_PROTOCOL), cutoff=last.date(), now=last)
    await engine.dispose()
    with tempfile.TemporaryDirectory() as folder:
        pages = {language: write_report(data, Path(folder, language), language=language) for language in LANGUAGES}
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            for language, report in pages.items():
                page = await browser.new_page(viewport={"width": 1200, "height": 3000})
                await page.goto(report.as_uri())
                await page.screenshot(path=str(DOCS / f"report-{language}.png"))
                await page.close()
            await browser.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
