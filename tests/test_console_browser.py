"""The console in Chromium: sign in from a link, find an overdue patient, open their page, acknowledge an alert,
enroll a patient and see the QR code, download an export. Nothing the page needs is blocked by its CSP."""

from __future__ import annotations

import zipfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from models import ContactKind, ContactStatus, Escalation, EscalationStatus, Patient, ScheduledContact, StaffRole
from tests.browser_fixtures import Site
from tests.console_fixtures import linked_staff, staff_with
from tests.study_seed import seed_study

PKU_CLINICIAN = 502


async def make_overdue(engine: AsyncEngine, clock: FakeClock, study_id: str) -> None:
    clock.advance(timedelta(days=40))
    async with session_factory(engine)() as session:
        patient_id = await session.scalar(select(Patient.id).where(Patient.study_id == study_id))
        await session.execute(
            update(ScheduledContact)
            .where(
                ScheduledContact.patient_id == patient_id,
                ScheduledContact.kind == ContactKind.CHECKIN,
                ScheduledContact.month == 1,
            )
            .values(status=ContactStatus.OPEN)
        )
        await session.commit()


async def test_it_signs_in_from_a_link_finds_an_overdue_patient_and_opens_their_page(
    console_site: Site, protocol: StudyProtocol
) -> None:
    site, page = console_site, console_site.page
    await seed_study(site.engine, protocol, site.clock)
    await make_overdue(site.engine, site.clock, "PKU-003")
    await site.sign_in(await staff_with(site.engine, PKU_CLINICIAN))
    assert await page.inner_text("h1") == "Follow-up board"
    assert await page.locator("tbody tr").count() == 5
    await page.check("input[name=overdue]")
    await page.click("form.filters button")
    await page.wait_for_url("**overdue=1**")
    rows = page.locator("tbody tr")
    assert await rows.count() == 1
    assert "overdue" in await rows.first.inner_text()
    await page.click("text=PKU-003")
    assert await page.inner_text("h1") == "PKU-003"
    assert await page.locator("text=Audit trail").count() == 1
    await page.click("form[action='/sign-out'] button")
    assert await page.inner_text("h1") == "You are not signed in."
    await page.goto(site.url + "/")
    assert await page.inner_text("h1") == "You are not signed in."
    assert site.refused == []


async def test_it_acknowledges_an_alert(console_site: Site, protocol: StudyProtocol) -> None:
    site, page = console_site, console_site.page
    await seed_study(site.engine, protocol, site.clock)
    await site.sign_in(await staff_with(site.engine, PKU_CLINICIAN))
    await page.click("header >> text=Open alerts")
    assert "PKU-002" in await page.inner_text("section.alert-card h2")
    await page.click("form[action$='/acknowledge'] button")
    await page.wait_for_url("**/alerts?done=acknowledged")
    assert "Acknowledged by Staff 502 (clinician)" in await page.inner_text("main")
    async with session_factory(site.engine)() as session:
        statuses = set(await session.scalars(select(Escalation.status)))
    assert EscalationStatus.ACKNOWLEDGED in statuses
    assert site.refused == []


async def test_it_enrolls_a_patient_and_shows_the_qr_code(console_site: Site, protocol: StudyProtocol) -> None:
    site, page = console_site, console_site.page
    await seed_study(site.engine, protocol, site.clock)
    await site.sign_in(await staff_with(site.engine, 500))  # the PKU coordinator
    await page.click("header >> text=Enroll")
    await page.fill("input[name=study_id]", "PKU-050")
    await page.select_option("select[name=group]", "control")
    await page.click("form[action='/enroll'] button")
    assert await page.inner_text("h1") == "Enrolled"
    image = page.locator("section.handout img")
    assert await image.evaluate("image => image.complete && image.naturalWidth > 100")
    assert (await page.inner_text("p.link")).startswith("https://t.me/sle_followup_bot?start=")
    assert site.refused == []


async def test_it_downloads_an_export(console_site: Site, protocol: StudyProtocol, tmp_path: Path) -> None:
    site, page = console_site, console_site.page
    await seed_study(site.engine, protocol, site.clock)
    admin = await linked_staff(
        site.engine, site.clock, site="BER", role=StaffRole.ADMIN, name="Dr A", telegram_user_id=777
    )
    await site.sign_in(admin)
    await page.click("header >> text=Exports")
    await page.select_option("select[name=format]", "csv")
    async with page.expect_download() as waiting:
        await page.click("form[action='/exports'] button")
    download = await waiting.value
    assert download.suggested_filename == "nct04136106-all-csv-20260302.zip"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert "patients.csv" in zipfile.ZipFile(saved).namelist()
    assert site.refused == []
