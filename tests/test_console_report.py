"""The comparison report from the console: study-wide, so for admins only."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.protocol import StudyProtocol
from tests.console_fixtures import console_client, signed_in, staff_with
from tests.study_seed import seed_study


async def test_it_gives_an_admin_the_report_as_a_zip(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    async with console_client(engine, clock) as client:
        csrf = await signed_in(client, engine, clock, await staff_with(engine, seeded.admin))
        assert 'href="/report"' in (await client.get("/")).text
        assert 'name="cutoff" value="2026-03-02"' in (await client.get("/report")).text
        response = await client.post("/report", data={"csrf_token": csrf, "cutoff": "2026-03-02"})
        assert response.status_code == 200
        assert response.headers["content-disposition"] == 'attachment; filename="nct04136106-report-20260302.zip"'
        names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
        assert {"report.html", "km.png", "tables/incidence.csv", "tables/rate_ratio.csv"} <= set(names)
        for cutoff, problem in [("2020-01-01", "no patients to report on before the cut-off"), ("soon", "soon")]:
            refused = await client.post("/report", data={"csrf_token": csrf, "cutoff": cutoff})
            assert refused.status_code == 400
            assert problem in refused.text


async def test_it_keeps_the_study_wide_report_from_site_staff(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    for chat in (seeded.coordinator_a, 502):
        async with console_client(engine, clock) as client:
            csrf = await signed_in(client, engine, clock, await staff_with(engine, chat))
            assert 'href="/report"' not in (await client.get("/")).text
            assert (await client.get("/report")).status_code == 403
            assert (await client.post("/report", data={"csrf_token": csrf})).status_code == 403
