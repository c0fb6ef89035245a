"""Screenshots of the comparison report for the docs, in both languages, taken in Debian's Chromium on a
`followup demo` database:

    .venv/bin/followup demo --dir /tmp/demo --patients 60
    .venv/bin/python docs/report_screenshots.py /tmp/demo/demo.db

writes docs/report-en.png and docs/report-zh_CN.png (the top of report.html, 1200 × 3600 pixels: down to the
hazard ratios and whom the adjusted model leaves out); the cut-off is the day of the demo's last event.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from noto_cjk_sans_otc import FONT_PATH as NOTO_SANS_CJK
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


def fonts_conf(folder: Path) -> Path:
    """A fontconfig file for Chromium: the system's fonts and the Noto Sans CJK the project ships (Chinese)."""
    path = folder / "fonts.conf"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{Path(NOTO_SANS_CJK).parent}</dir></fontconfig>"
    )
    return path


async def main(database: Path) -> None:
    engine = create_engine(f"sqlite:///{database}", durable=False)
    async with session_factory(engine)() as session:
        last = await session.scalar(select(func.max(AuditEvent.occurred_at)))
        assert last is not None, "a followup demo database"
        data = await load_study(session, protocol=load_protocol(SHIPPED_PROTOCOL), cutoff=last.date(), now=last)
    await engine.dispose()
    with tempfile.TemporaryDirectory() as folder:
        pages = {language: write_report(data, Path(folder, language), language=language) for language in LANGUAGES}
        fonts = fonts_conf(Path(folder))
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox"],
                env={**os.environ, "FONTCONFIG_FILE": str(fonts)},
            )
            for language, report in pages.items():
                page = await browser.new_page(viewport={"width": 1200, "height": 3600})
                await page.goto(report.as_uri())
                await page.screenshot(path=str(DOCS / f"report-{language}.png"))
                await page.close()
            await browser.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
