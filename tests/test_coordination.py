"""/status and /export through Telegram, limited to the coordinator's site (admins: all sites)."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.simulator.harness import Harness
from models import AuditEvent
from tests.study_seed import seed_study

CLINICIAN = 502


async def test_it_shows_each_coordinator_their_site_and_admins_every_site(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    await bot.send(seeded.coordinator_a, "/status", language="en")
    status = bot.last_text(seeded.coordinator_a)
    assert status.startswith("🏥 PKU")
    assert "BER" not in status
    assert "Active patients: 4" in status  # PKU-001 ended with an infection
    assert "Open alerts: 1" in status  # PKU-002's suspected infection
    assert "Doses confirmed: 100% (" in status
    await bot.send(seeded.admin, "/status", language="en")
    assert [block.splitlines()[0] for block in bot.last_text(seeded.admin).split("\n\n")] == [
        "🏥 BER",
        "🏥 PKU",
    ]
    await bot.send(CLINICIAN, "/status", language="en")
    assert bot.last_text(CLINICIAN) == "This command is for coordinators and admins."
    await bot.send(seeded.chat_ids[0], "/status")
    assert bot.last_text(seeded.chat_ids[0]) == "此功能仅供研究人员使用。"


def exported(bot: Harness, chat: int) -> dict[str, pd.DataFrame]:
    call = [call for call in bot.stub.sent_to(chat) if call.method == "sendDocument"][-1]
    archive = zipfile.ZipFile(io.BytesIO(call.params["document"]["content"]))
    return {
        name.removesuffix(".csv"): pd.read_csv(archive.open(name), encoding="utf-8-sig") for name in archive.namelist()
    }


async def test_it_sends_a_zip_of_the_site_datasets_and_audits_it(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    await bot.send(seeded.coordinator_a, "/export", language="en")
    tables = exported(bot, seeded.coordinator_a)
    assert set(tables) == {
        "patients",
        "checkins",
        "answers",
        "doses",
        "escalations",
        "infections",
        "deviations",
        "audit",
        "codebook",
    }
    assert set(tables["patients"]["site"]) == {"PKU"}
    assert set(tables["audit"]["study_id"]) == {f"PKU-00{n}" for n in range(1, 6)}, "a site's export: its patients"
    assert set(tables["patients"]["study_id"]) == {f"PKU-00{n}" for n in range(1, 6)}
    await bot.send(seeded.admin, "/export", language="en")
    assert set(exported(bot, seeded.admin)["patients"]["site"]) == {"PKU", "BER"}
    await bot.send(CLINICIAN, "/export", language="en")
    assert bot.last_text(CLINICIAN) == "This command is for coordinators and admins."
    async with session_factory(engine)() as session:
        audited = [
            event.after for event in await session.scalars(select(AuditEvent).where(AuditEvent.action == "export"))
        ]
    assert [entry["site"] for entry in audited if entry] == ["PKU", "all"]
