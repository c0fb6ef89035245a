"""Exports from the console: a zip of the datasets and the codebook in the chosen format, limited to the
coordinator's site (admins: a chosen site or all), audited as /export is."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from models import AuditEvent
from tests.console_fixtures import console_client, signed_in, staff_with
from tests.study_seed import seed_study

DATASETS = {"patients", "checkins", "answers", "doses", "escalations", "infections", "deviations", "audit", "codebook"}


def unzipped(content: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(content))


async def test_it_downloads_the_coordinators_site_as_a_zip_with_the_codebook_and_audits_it(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    async with console_client(engine, clock) as client:
        csrf = await signed_in(client, engine, clock, await staff_with(engine, seeded.coordinator_a))
        form = (await client.get("/exports")).text
        assert '<select name="site">' not in form
        response = await client.post("/exports", data={"csrf_token": csrf, "format": "csv", "site": "BER"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="nct04136106-pku-csv-20260302.zip"'
    archive = unzipped(response.content)
    assert {name.removesuffix(".csv") for name in archive.namelist()} == DATASETS
    patients = pd.read_csv(archive.open("patients.csv"), encoding="utf-8-sig")
    assert set(patients["site"]) == {"PKU"}  # their own site, whatever they ask for
    async with session_factory(engine)() as session:
        audited = [
            event.after for event in await session.scalars(select(AuditEvent).where(AuditEvent.action == "export"))
        ]
    assert audited == [{"site": "PKU", "format": "csv", "bytes": len(response.content), "via": "web"}]


@pytest.mark.parametrize(
    ("fmt", "member"), [("xlsx", "study.xlsx"), ("parquet", "patients.parquet"), ("stata", "patients.dta")]
)
async def test_it_lets_an_admin_pick_a_site_and_a_format(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, fmt: str, member: str
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    async with console_client(engine, clock) as client:
        csrf = await signed_in(client, engine, clock, await staff_with(engine, seeded.admin))
        assert '<option value="BER">BER</option>' in (await client.get("/exports")).text
        response = await client.post("/exports", data={"csrf_token": csrf, "format": fmt, "site": "BER"})
        assert response.status_code == 200
        assert member in unzipped(response.content).namelist()
        assert (
            await client.post("/exports", data={"csrf_token": csrf, "format": fmt, "site": "NOPE"})
        ).status_code == 404
        assert (await client.post("/exports", data={"csrf_token": csrf, "format": "exe"})).status_code == 400


async def test_it_lets_an_admin_export_every_site(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    async with console_client(engine, clock) as client:
        csrf = await signed_in(client, engine, clock, await staff_with(engine, seeded.admin))
        response = await client.post("/exports", data={"csrf_token": csrf, "format": "csv", "site": ""})
    patients = pd.read_csv(unzipped(response.content).open("patients.csv"), encoding="utf-8-sig")
    assert set(patients["site"]) == {"PKU", "BER"}


async def test_it_refuses_exports_to_clinicians(engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock) -> None:
    await seed_study(engine, protocol, clock)
    async with console_client(engine, clock) as client:
        csrf = await signed_in(client, engine, clock, await staff_with(engine, 502))
        assert 'href="/exports"' not in (await client.get("/")).text
        assert (await client.get("/exports")).status_code == 403
        assert (await client.post("/exports", data={"csrf_token": csrf, "format": "csv"})).status_code == 403
        assert (await client.post("/exports", data={"format": "csv"})).status_code == 403
    async with session_factory(engine)() as session:
        assert list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "export"))) == []
