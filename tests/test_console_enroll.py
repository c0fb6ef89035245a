"""Enrolling from the console: one patient with a printable QR code, or a CSV file previewed row by row and
enrolled all or nothing; coordinators for their own site, admins for any."""

from __future__ import annotations

import base64
import io
import re

import httpx
import zxingcpp
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from models import AuditEvent, Patient, StaffRole
from tests.console_fixtures import console_client, linked_staff, signed_in
from tests.factories import make_site

QR = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
LINK = re.compile(r'<p class="link">(https://t\.me/sle_followup_bot\?start=[A-Za-z0-9_-]+)</p>')


async def two_sites(engine: AsyncEngine, clock: FakeClock) -> None:
    async with session_factory(engine)() as session:
        await make_site(session, clock, code="PKU")
        await make_site(session, clock, code="BER", timezone="Europe/Berlin")


async def patients(engine: AsyncEngine) -> list[str]:
    async with session_factory(engine)() as session:
        return list(await session.scalars(select(Patient.study_id).order_by(Patient.study_id)))


def decoded(html: str) -> list[str]:
    images = [Image.open(io.BytesIO(base64.b64decode(data))) for data in QR.findall(html)]
    return [barcode.text for image in images for barcode in zxingcpp.read_barcodes(image)]


async def coordinator_client(engine: AsyncEngine, clock: FakeClock, client: httpx.AsyncClient) -> str:
    staff = await linked_staff(engine, clock, role=StaffRole.COORDINATOR, name="Ms Wang", telegram_user_id=103)
    return await signed_in(client, engine, clock, staff)


async def test_it_enrolls_one_patient_and_shows_the_link_as_a_printable_qr_code(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    await two_sites(engine, clock)
    async with console_client(engine, clock) as client:
        csrf = await coordinator_client(engine, clock, client)
        form = (await client.get("/enroll")).text
        assert '<option value="PKU">PKU</option>' in form
        assert "BER" not in form  # a coordinator enrolls for their own site
        fields = {"csrf_token": csrf, "study_id": "PKU-101", "site": "PKU", "group": "il2", "language": "zh_CN"}
        done = await client.post("/enroll", data={**fields, "enrolled_on": "", "reminder_time": "08:30"})
        assert "@media print" in (await client.get("/static/console.css")).text
    assert done.status_code == 200
    links = LINK.findall(done.text)
    assert len(links) == 1
    assert decoded(done.text) == links
    assert "Valid once, until 2026-04-01 09:00 (Asia/Shanghai)." in done.text
    assert await patients(engine) == ["PKU-101"]
    async with session_factory(engine)() as session:
        actor = await session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "patient.enroll"))
    assert actor is not None
    assert actor.startswith("staff:")


async def test_it_refuses_a_bad_enrollment_naming_the_problem_and_writes_nothing(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    await two_sites(engine, clock)
    async with console_client(engine, clock) as client:
        csrf = await coordinator_client(engine, clock, client)
        good = {"csrf_token": csrf, "study_id": "PKU-101", "site": "PKU", "group": "il2"}
        assert (await client.post("/enroll", data=good)).status_code == 200
        cases = {
            "study_id: use 1-32 letters, digits, '-' or '_'": {**good, "study_id": "张三"},
            "il2_start: only for the il2 group": {
                **good,
                "study_id": "X2",
                "group": "control",
                "il2_start": "2026-03-01",
            },
            "study_id: PKU-101 is enrolled already": {**good, "study_id": "pku-101"},
            "site: BER is not a site you enroll for": {**good, "study_id": "X3", "site": "BER"},
            "enrolled_on: 2026-05-01 is in the future": {**good, "study_id": "X4", "enrolled_on": "2026-05-01"},
            "group: Input should be 'il2' or 'control'": {**good, "study_id": "X5", "group": "<b>x</b>"},
        }
        for problem, fields in cases.items():
            refused = await client.post("/enroll", data=fields)
            assert refused.status_code == 400, problem
            assert f"Not enrolled: {problem}".replace("'", "&#39;") in refused.text, problem
    assert await patients(engine) == ["PKU-101"]


async def test_it_lets_only_coordinators_and_admins_enroll(engine: AsyncEngine, clock: FakeClock) -> None:
    await two_sites(engine, clock)
    clinician = await linked_staff(engine, clock)
    admin = await linked_staff(engine, clock, site="BER", role=StaffRole.ADMIN, name="Dr Admin", telegram_user_id=104)
    async with console_client(engine, clock) as client:
        csrf = await signed_in(client, engine, clock, clinician)
        assert 'href="/enroll"' not in (await client.get("/")).text
        assert (await client.get("/enroll")).status_code == 403
        fields = {"csrf_token": csrf, "study_id": "PKU-101", "site": "PKU", "group": "il2"}
        assert (await client.post("/enroll", data=fields)).status_code == 403
        upload = {"file": ("p.csv", b"study_id,site,group\nPKU-102,PKU,il2\n", "text/csv")}
        assert (await client.post("/enroll/csv", data={"csrf_token": csrf}, files=upload)).status_code == 403
        content = {"csrf_token": csrf, "content": "study_id,site,group\nPKU-102,PKU,il2\n"}
        assert (await client.post("/enroll/csv/import", data=content)).status_code == 403
    async with console_client(engine, clock) as client:
        csrf = await signed_in(client, engine, clock, admin)
        assert 'href="/enroll"' in (await client.get("/")).text
        fields = {"csrf_token": csrf, "study_id": "PKU-101", "site": "PKU", "group": "il2"}
        assert (await client.post("/enroll", data=fields)).status_code == 200
    assert await patients(engine) == ["PKU-101"]


async def test_it_previews_a_csv_file_naming_every_bad_row_and_enrolls_nothing(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    await two_sites(engine, clock)
    rows = "study_id,site,group\nPKU-101,PKU,il2\nPKU-102,PKU,placebo\nBER-103,BER,il2\nPKU-101,PKU,control\n"
    async with console_client(engine, clock) as client:
        csrf = await coordinator_client(engine, clock, client)
        preview = await client.post("/enroll/csv", data={"csrf_token": csrf}, files={"file": ("p.csv", rows.encode())})
        assert preview.status_code == 400
        text = preview.text
        assert "3 rows cannot be enrolled" in text
        assert (
            "<td>3</td><td></td><td></td><td></td><td>group: Input should be &#39;il2&#39; or &#39;control&#39;</td>"
            in text
        )
        assert (
            "<td>4</td><td>BER-103</td><td>BER</td><td>il2</td><td>site: BER is not a site you enroll for</td>" in text
        )
        assert "<td>5</td><td>PKU-101</td><td>PKU</td><td>control</td><td>study_id: PKU-101 repeats line 2</td>" in text
        assert "/enroll/csv/import" not in text
        forged = await client.post("/enroll/csv/import", data={"csrf_token": csrf, "content": rows})
        assert forged.status_code == 400
        assert "Not enrolled: line 3: group" in forged.text
        other_site = {"csrf_token": csrf, "content": "study_id,site,group\nBER-103,BER,il2\n"}
        forged = await client.post("/enroll/csv/import", data=other_site)
        assert forged.status_code == 400
        assert "Not enrolled: line 2: site: BER is not a site you enroll for" in forged.text
        for bad_file, problem in [
            (b"\xff\xfe\x00", "the file must be UTF-8 CSV text"),
            (b"study_id,site\nPKU-1,PKU\n", "line 1: missing column(s): group"),
            (b"study_id,site,group\n", "the file has no patient rows"),
        ]:
            refused = await client.post("/enroll/csv", data={"csrf_token": csrf}, files={"file": ("p.csv", bad_file)})
            assert refused.status_code == 400
            assert problem in refused.text
    assert await patients(engine) == []


async def test_it_enrolls_a_previewed_csv_file_all_or_nothing(engine: AsyncEngine, clock: FakeClock) -> None:
    await two_sites(engine, clock)
    rows = "study_id,site,group,language\nPKU-101,PKU,il2,zh_CN\nPKU-102,PKU,control,en\n"
    async with console_client(engine, clock) as client:
        csrf = await coordinator_client(engine, clock, client)
        preview = await client.post("/enroll/csv", data={"csrf_token": csrf}, files={"file": ("p.csv", rows.encode())})
        assert preview.status_code == 200
        assert "Enroll these 2 patients" in preview.text
        content = re.search(r'<textarea name="content" hidden>(.*?)</textarea>', preview.text, re.S)
        assert content is not None
        assert content.group(1) == rows
        done = await client.post("/enroll/csv/import", data={"csrf_token": csrf, "content": content.group(1)})
        assert done.status_code == 200
        assert decoded(done.text) == LINK.findall(done.text)
        assert len(LINK.findall(done.text)) == 2
        assert await patients(engine) == ["PKU-101", "PKU-102"]
        again = "study_id,site,group\nPKU-103,PKU,il2\nPKU-102,PKU,il2\n"  # the second is enrolled already
        refused = await client.post("/enroll/csv/import", data={"csrf_token": csrf, "content": again})
        assert refused.status_code == 400
        assert "Not enrolled: line 3: study_id: PKU-102 is enrolled already" in refused.text
    assert await patients(engine) == ["PKU-101", "PKU-102"]
    async with session_factory(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Patient)) == 2
