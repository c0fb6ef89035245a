"""Telegram's limits: the loopback Bot API refuses what Telegram refuses, and the bot stays within them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.services.sites import add_staff
from bot.simulator.bot_api import BotApiStub
from bot.simulator.harness import Harness
from bot.telegram_limits import TEXT_LIMIT, telegram_length
from models import Escalation, EscalationStatus, Patient, Site, Staff, StaffRole, TriageLevel
from tests.bot_fixtures import enrolled
from tests.test_cli import counts

CLINICIAN = 4100


async def test_it_refuses_what_telegram_refuses(stub: BotApiStub) -> None:
    async with Bot(stub.token, base_url=stub.base_url) as bot:
        await bot.send_message(1, "x" * TEXT_LIMIT)
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(1, "x" * (TEXT_LIMIT + 1))
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(1, "😀" * (TEXT_LIMIT // 2 + 1))  # Telegram counts UTF-16 code units
        with pytest.raises(BadRequest, match="Message_too_long"):
            await bot.edit_message_text("y" * (TEXT_LIMIT + 1), chat_id=1, message_id=1)
        await bot.send_photo(1, b"\x89PNG", caption="c" * 1024)
        with pytest.raises(BadRequest, match="Message caption is too long"):
            await bot.send_photo(1, b"\x89PNG", caption="c" * 1025)
        with pytest.raises(BadRequest, match="Message caption is too long"):
            await bot.send_document(1, b"data", filename="a.zip", caption="c" * 1025)
        await bot.send_message(
            1, "ok", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="d" * 64)]])
        )
        too_long = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="d" * 63 + "é")]])  # 65 bytes
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await bot.send_message(1, "ok", reply_markup=too_long)
        await bot.answer_callback_query("cq1")
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query("cq1")
    assert len(stub.screen(1)) == 3  # only what Telegram accepted was shown


async def _open_alerts(engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, count: int) -> None:
    for number in range(count):
        await enrolled(engine, protocol, clock, study_id=f"PKU-LONG-STUDY-ID-{number:04d}", group="control")
    async with session_factory(engine)() as session:
        for number, patient in enumerate(await session.scalars(select(Patient).order_by(Patient.id))):
            session.add(
                Escalation(
                    patient_id=patient.id,
                    site_id=patient.site_id,
                    level=TriageLevel.URGENT if number % 3 else TriageLevel.INFECTION,
                    reasons=["max_temp_39_5"],
                    status=EscalationStatus.OPEN,
                    raised_at=clock.now() - timedelta(minutes=number),
                    stage=0,
                    repeats=0,
                )
            )
        site = await session.scalar(select(Site))
        assert site is not None
        staff, _code = await add_staff(
            session,
            site_code=site.code,
            role=StaffRole.CLINICIAN,
            name="Dr Li",
            actor="cli:coordinator",
            now=clock.now(),
            invite_valid_days=7,
        )
        await session.execute(
            Staff.__table__.update().where(Staff.id == staff.id).values(telegram_user_id=CLINICIAN, language="en")
        )
        await session.commit()


async def test_it_pages_alerts_that_would_not_fit_one_message(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    await _open_alerts(engine, protocol, clock, 70)
    await bot.send(CLINICIAN, "/alerts", language="en")
    seen: list[str] = []
    for page in range(1, 8):
        shown = bot.stub.screen(CLINICIAN)[-1]
        assert shown.text.startswith(f"Open alerts, page {page} of 7:")
        assert telegram_length(shown.text) <= TEXT_LIMIT
        seen += re.findall(r"PKU-LONG-STUDY-ID-\d{4}", shown.text)
        assert len([label for label, _data in shown.buttons if label.startswith("👀 Acknowledge")]) == 10
        if page < 7:
            await bot.tap(CLINICIAN, "Next page")
    assert sorted(seen) == [f"PKU-LONG-STUDY-ID-{number:04d}" for number in range(70)]
    await bot.tap(CLINICIAN, "Previous page")
    assert bot.last_text(CLINICIAN).startswith("Open alerts, page 6 of 7:")
    assert not [call for call in bot.stub.calls if call.method == "sendMessage" and "Open alerts" in str(call.params)][
        1:
    ], "pages are edits of the one message"


def test_it_bounds_site_and_staff_names_at_input(cli_env: str) -> None:
    runner = CliRunner()
    before = counts(cli_env)
    result = runner.invoke(cli, ["sites", "add", "PKU", "--name", "P" * 101, "--timezone", "Asia/Shanghai",
                                 "--phone", "+86 10 1234 5678"])  # fmt: skip
    assert (result.exit_code, result.stderr) == (1, "error: site name: at most 100 characters (this one has 101)\n")
    result = runner.invoke(cli, ["sites", "add", "PKU", "--name", "\u200b\u200b", "--timezone", "Asia/Shanghai",
                                 "--phone", "+86 10 1234 5678"])  # fmt: skip
    assert (result.exit_code, result.stderr) == (1, "error: site name: must not be empty\n")
    assert counts(cli_env) == before
    result = runner.invoke(cli, ["sites", "add", "PKU", "--name", "P" * 100, "--timezone", "Asia/Shanghai",
                                 "--phone", "+86 10 1234 5678"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(cli, ["staff", "add", "--site", "PKU", "--role", "clinician", "--name", "Dr " + "L" * 62])
    assert (result.exit_code, result.stderr) == (1, "error: staff name: at most 64 characters (this one has 65)\n")
    assert counts(cli_env)["staff"] == 0
