"""The comparison report from the console, for the user's scope: the whole study for admins, their own site for
everybody else; the page says which."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
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


async def test_it_limits_site_staffs_report_to_their_site_and_says_so(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    reports = {}
    for chat in (seeded.coordinator_a, 502, seeded.admin):
        whole = chat == seeded.admin
        async with console_client(engine, clock) as client:
            csrf = await signed_in(client, engine, clock, await staff_with(engine, chat))
            assert 'href="/report"' in (await client.get("/")).text
            reports[chat] = (await client.get("/report")).text
            response = await client.post("/report", data={"csrf_token": csrf, "cutoff": "2026-03-02"})
            assert response.status_code == 200
            with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
                sites = pd.read_csv(archive.open("tables/sites.csv"))
                analysed = pd.read_csv(archive.open("tables/analysis_dataset.csv"))
                flow = pd.read_csv(archive.open("tables/flow.csv")).set_index("stage")
                provenance = pd.read_csv(archive.open("tables/provenance.csv")).set_index("item")["value"]
                reports[chat] += archive.read("report.html").decode()
            assert provenance["scope"] == ("all sites" if whole else "PKU")
            assert set(sites["site"]) == ({"PKU", "BER"} if whole else {"PKU"})
            assert {study_id[:3] for study_id in analysed["study_id"]} == ({"PKU", "BER"} if whole else {"PKU"})
            assert flow.loc["enrolled"].sum() == (len(seeded.chat_ids) if whole else 5)
    assert "This report covers the patients of your site only: " in reports[seeded.coordinator_a]
    assert "(PKU)" in reports[seeded.coordinator_a]
    assert "This report covers the whole study: the patients of every site." in reports[seeded.admin]
