"""New links: a patient who changed phone or whose link expired gets a new one, redeemed from a new account it
moves the patient there; a staff member gets a new invite; earlier unused links stop working."""

from __future__ import annotations

import re
from pathlib import Path

import qrcode
import zxingcpp
from PIL import Image
from sqlalchemy import create_engine, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli.qr_cards import chinese_font
from bot.clock import FakeClock
from bot.db import session_factory, sync_url
from bot.protocol import StudyProtocol
from bot.services.reinvites import reinvite_patient
from bot.simulator.harness import Harness
from models import AuditEvent, Patient
from tests.bot_fixtures import deliver_outbox, enrolled
from tests.test_cli import LINK, counts, followup, study  # noqa: F401 - the CLI's study fixture
from tests.test_patient_bot import onboard

OLD_PHONE, NEW_PHONE = 7001, 7002


async def test_it_moves_a_patient_who_redeems_a_new_link_from_a_new_account(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    first = await enrolled(engine, protocol, clock, language="en")
    await onboard(bot, first.code, chat=OLD_PHONE, agree="I agree")
    async with session_factory(engine)() as session:
        patient = await session.get_one(Patient, first.patient.id)
        code = await reinvite_patient(
            session, patient=patient, protocol=protocol, actor="cli:coordinator", now=clock.now()
        )

    await bot.send(NEW_PHONE, f"/start {code}", language="en")
    await deliver_outbox(engine, bot.stub, clock)
    assert bot.stub.texts_to(OLD_PHONE)[-1].startswith(
        "This Telegram account is no longer linked to the follow-up study"
    )
    async with session_factory(engine)() as session:
        moved = await session.get_one(Patient, first.patient.id)
        assert moved.telegram_chat_id == NEW_PHONE
        link = (await session.scalars(select(AuditEvent).where(AuditEvent.action == "patient.link"))).all()[-1]
        assert link.after == {"telegram_linked": True, "moved_from_another_account": True}


async def test_it_voids_the_earlier_unused_link(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    first = await enrolled(engine, protocol, clock, language="en")
    async with session_factory(engine)() as session:
        patient = await session.get_one(Patient, first.patient.id)
        await reinvite_patient(session, patient=patient, protocol=protocol, actor="cli:coordinator", now=clock.now())
    await bot.send(OLD_PHONE, f"/start {first.code}", language="en")
    assert bot.last_text(OLD_PHONE) == "This link has expired. Please ask your study coordinator for a new one."


def test_it_reinvites_a_patient_and_a_staff_member_from_the_cli(study: str) -> None:  # noqa: F811
    assert followup("patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S001")[0] == 0
    assert followup("staff", "add", "--site", "PKU", "--role", "clinician", "--name", "Dr Li")[0] == 0
    code, out, err = followup("patients", "reinvite", "s001")
    assert code == 0, err
    assert LINK.match(out.strip())
    assert re.match(r"new link for S001, valid until \d{4}-\d\d-\d\d \d\d:\d\d \(Asia/Shanghai\)$", err.strip())
    code, out, err = followup("staff", "reinvite", "1")
    assert code == 0, err
    assert re.match(
        r"new invite for staff #1 \(Dr Li\), valid once, valid until .*\(Asia/Shanghai\):$", out.splitlines()[0]
    )
    assert LINK.match(out.splitlines()[1])
    engine = create_engine(sync_url(study))
    with engine.connect() as connection:
        actions = connection.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    engine.dispose()
    assert actions[-2:] == ["patient.reinvite", "staff.reinvite"]


def test_it_refuses_a_reinvite_for_nobody_or_an_ended_follow_up_and_writes_nothing(study: str) -> None:  # noqa: F811
    assert followup("patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S001")[0] == 0
    assert followup("patients", "withdraw", "S001", "--reason-code", "withdraw-consent")[0] == 0
    before = counts(study)
    assert followup("patients", "reinvite", "NOBODY") == (1, "", "error: no patient with study ID 'NOBODY'\n")
    assert followup("patients", "reinvite", "S001") == (1, "", "error: S001: follow-up has ended (withdrawn)\n")
    assert followup("staff", "reinvite", "99") == (1, "", "error: no staff member #99\n")
    assert counts(study) == before


def test_it_writes_one_captioned_qr_code_per_imported_patient(study: str, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "cards").mkdir()
    rows = ["study_id,site,group", "P001,PKU,il2", "P002,PKU,control"]
    (tmp_path / "patients.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    before = counts(study)
    assert followup("patients", "import", "patients.csv", "--qr-dir", "no-such-folder") == (
        1,
        "",
        "error: --qr-dir: folder no-such-folder does not exist\n",
    )
    assert counts(study) == before
    code, out, err = followup("patients", "import", "patients.csv", "--qr-dir", "cards")
    assert code == 0, err
    assert "2 QR codes written to cards" in err
    links = dict(line.split(",") for line in out.splitlines()[1:])
    for study_id, link in links.items():
        card = Image.open(tmp_path / "cards" / f"{study_id}.png").convert("L")
        assert [barcode.text for barcode in zxingcpp.read_barcodes(card)] == [link]
        qr_height = qrcode.make(link, box_size=8, border=4).get_image().height
        caption = card.crop((0, qr_height, card.width, card.height))
        assert caption.height > 80
        assert caption.getextrema()[0] < 100, "the caption has text"


def test_it_captions_with_a_font_that_has_chinese_glyphs() -> None:
    font = chinese_font(18)
    # a font without Chinese glyphs draws the same empty box for every character
    assert bytes(font.getmask("扫")) != bytes(font.getmask("码"))
