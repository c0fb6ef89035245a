"""The operators' command line, driven as they drive it: `followup ...` with its environment."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from bot.cli import app
from bot.db import create_engine as create_async_engine
from bot.db import open_session, sync_url
from bot.services.onboarding import CodeProblem, redeem
from models import AuditEvent, Infection, Patient, PatientStatus, ScheduledContact, Staff

LINK = re.compile(r"^https://t\.me/sle_followup_bot\?start=[A-Za-z0-9_-]{16,64}$")
runner = CliRunner()


def followup(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def counts(database_url: str) -> dict[str, int]:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as connection:
        found = {
            model.__tablename__: connection.scalar(select(func.count()).select_from(model)) or 0
            for model in (Patient, ScheduledContact, AuditEvent, Staff, Infection)
        }
    engine.dispose()
    return found


@pytest.fixture
def study(cli_env: str) -> str:
    assert (
        followup(
            "sites",
            "add",
            "pku",
            "--name",
            "PKU People's Hospital",
            "--timezone",
            "Asia/Shanghai",
            "--phone",
            "+86 10 8832 5555",
        )[0]
        == 0
    )
    return cli_env


def test_it_enrolls_a_patient_and_prints_a_deep_link_and_a_qr_code(study: str, tmp_path: Path) -> None:
    code, out, err = followup(
        "patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S001", "--qr", "s001.png"
    )
    assert code == 0, err
    link = out.strip()
    assert LINK.match(link)
    assert "24 check-ins and 21 dose reminders planned" in err
    decoded = zxingcpp.read_barcodes(Image.open(tmp_path / "s001.png"))
    assert [barcode.text for barcode in decoded] == [link]
    assert counts(study)["scheduled_contacts"] == 45


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--site", "XYZ", "--group", "il2", "--study-id", "S002"], "error: no site with code 'XYZ'"),
        (
            ["--site", "PKU", "--group", "il3", "--study-id", "S002"],
            "error: group: Input should be 'il2' or 'control'",
        ),
        (
            ["--site", "PKU", "--group", "il2", "--study-id", "S002", "--enrolled-on", "2026-02-30"],
            "error: enrolled_on: '2026-02-30' is not a real date in the form YYYY-MM-DD",
        ),
        (
            ["--site", "PKU", "--group", "il2", "--study-id", "s001"],
            "error: study_id: S001 is enrolled already",
        ),
        (
            ["--site", "PKU", "--group", "il2", "--study-id", "Wang Fang"],
            "error: study_id: use 1-32 letters, digits, '-' or '_'",
        ),
        (
            ["--site", "PKU", "--group", "il2", "--study-id", "S002", "--reminder-time", "9am"],
            "error: reminder_time: use HH:MM, for example 09:00",
        ),
        (
            ["--site", "PKU", "--group", "il2", "--study-id", "S002", "--qr", "/no/such/folder/x.png"],
            "error: /no/such/folder/x.png: folder /no/such/folder does not exist",
        ),
    ],
)
def test_it_refuses_a_bad_enrollment_in_one_line_and_writes_nothing(study: str, args: list[str], message: str) -> None:
    assert followup("patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S001")[0] == 0
    before = counts(study)
    code, out, err = followup("patients", "enroll", *args)
    assert code == 1
    assert err == message + "\n"
    assert out == ""
    assert counts(study) == before


def test_it_imports_nothing_from_a_csv_with_one_bad_row(study: str, tmp_path: Path) -> None:
    rows = ["study_id,site,group,enrolled_on,language"] + [
        f"P{n:03d},PKU,{'il2' if n % 2 else 'control'},2026-11-01,zh_CN" for n in range(1, 40)
    ]
    rows[25] = "P025,PKU,il-2,2026-11-01,zh_CN"
    (tmp_path / "patients.csv").write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    before = counts(study)
    code, _, err = followup("patients", "import", "patients.csv")
    assert code == 1
    assert err == "error: line 26: group: Input should be 'il2' or 'control'\n"
    assert counts(study) == before

    rows[25] = "P025,PKU,il2,2026-11-01,zh_CN"
    (tmp_path / "patients.csv").write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    code, out, err = followup("patients", "import", "patients.csv")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "study_id,deep_link"
    assert len(lines) == 40
    assert all(LINK.match(line.split(",")[1]) for line in lines[1:])


def test_it_lists_shows_shifts_and_withdraws(study: str) -> None:
    enrolled_on = (date.today() - timedelta(days=1)).isoformat()
    followup(
        "patients",
        "enroll",
        "--site",
        "PKU",
        "--group",
        "il2",
        "--study-id",
        "S001",
        "--enrolled-on",
        enrolled_on,
        "--language",
        "en",
        "--reminder-time",
        "20:00",
    )
    code, out, _ = followup("patients", "list")
    assert code == 0
    assert re.search(r"S001\s+│\s+PKU\s+│\s+il2\s+│\s+enrolled", out)
    code, out, _ = followup("patients", "show", "S001")
    assert code == 0
    assert "20:00 Asia/Shanghai" in out
    assert "next contacts" in out
    code, out, _ = followup("patients", "shift-doses", "S001", "--days", "3")
    assert code == 0
    assert re.match(r"\d+ future doses of S001 moved by \+3 days", out)
    code, out, _ = followup("patients", "withdraw", "S001", "--reason-code", "withdraw-consent", "--note", "moved away")
    assert code == 0
    assert "S001 withdrawn" in out
    code, _, err = followup("patients", "shift-doses", "S001", "--days", "3")
    assert (code, err) == (1, "error: S001: follow-up has ended (withdrawn)\n")
    code, _, err = followup("patients", "show", "NOBODY")
    assert (code, err) == (1, "error: no patient with study ID 'NOBODY'\n")


def test_it_records_a_clinic_infection_and_ends_follow_up(study: str) -> None:
    followup(
        "patients",
        "enroll",
        "--site",
        "PKU",
        "--group",
        "control",
        "--study-id",
        "C001",
        "--enrolled-on",
        (date.today() - timedelta(days=60)).isoformat(),
    )
    onset = (date.today() - timedelta(days=2)).isoformat()
    base = [
        "infections",
        "record",
        "--study-id",
        "C001",
        "--onset",
        onset,
        "--site-type",
        "pneumonia",
        "--pathogen",
        "bacterial",
        "--organism",
        "Streptococcus pneumoniae",
        "--treatment",
        "iv_antimicrobial",
    ]
    code, _, err = followup(*base, "--grade", "7")
    assert (code, err) == (1, "error: ctcae_grade: Input should be less than or equal to 5\n")
    code, out, err = followup(*base, "--grade", "3", "--hospitalized")
    assert code == 0, err
    assert out == "infection recorded for C001; follow-up ended\n"
    engine = create_engine(sync_url(study))
    with engine.connect() as connection:
        status = connection.scalar(select(Patient.status))
        grade, hospitalized = connection.execute(select(Infection.ctcae_grade, Infection.hospitalized)).one()
        planned = connection.scalar(
            select(func.count()).select_from(ScheduledContact).where(ScheduledContact.status == "planned")
        )
    engine.dispose()
    assert (status, grade, hospitalized, planned) == (PatientStatus.INFECTED, 3, True, 0)


def test_it_adds_staff_with_a_one_time_invite(study: str) -> None:
    code, out, err = followup("staff", "add", "--site", "PKU", "--role", "clinician", "--name", "Dr Li")
    assert code == 0, err
    assert LINK.match(out.splitlines()[-1])
    code, out, _ = followup("staff", "list")
    assert re.search(r"PKU\s+│\s+clinician\s+│\s+Dr Li\s+│\s+invited", out)
    code, _, err = followup("staff", "add", "--site", "PKU", "--role", "nurse", "--name", "X")
    assert code == 2
    assert "Invalid value for '--role'" in err


def test_it_lists_sites_and_refuses_an_unknown_time_zone(study: str) -> None:
    code, out, _ = followup("sites", "list")
    assert "PKU" in out
    assert "Asia/Shanghai" in out
    code, _, err = followup(
        "sites", "add", "XX", "--name", "X", "--timezone", "Mars/Olympus", "--phone", "+86 10 8832 5555"
    )
    assert (code, err) == (
        1,
        "error: unknown time zone 'Mars/Olympus' (use an IANA name such as Asia/Shanghai)\n",
    )
    code, _, err = followup(
        "sites", "add", "PKU", "--name", "again", "--timezone", "Asia/Shanghai", "--phone", "+86 10 8832 5555"
    )
    assert (code, err) == (1, "error: site PKU exists already\n")


def test_it_needs_a_24_hour_phone_for_every_site_and_updates_it_with_an_audit(study: str) -> None:
    before = counts(study)
    code, _, err = followup("sites", "add", "XX", "--name", "X", "--timezone", "Asia/Shanghai")
    assert code == 2
    assert "Missing option '--phone'" in err
    code, _, err = followup("sites", "update", "PKU", "--phone", "call me")
    assert (code, err) == (1, "error: site phone 'call me': use digits, spaces, '+', '-' or brackets\n")
    code, _, err = followup("sites", "update", "PKU")
    assert (code, err) == (1, "error: nothing to change: give --name, --timezone or --phone\n")
    assert counts(study) == before
    code, out, err = followup("sites", "update", "pku", "--phone", "+86 10 8832 6666", "--reason", "new night line")
    assert (code, out, err) == (0, "site PKU updated\n", "")
    engine = create_engine(sync_url(study))
    with engine.connect() as connection:
        event = connection.execute(select(AuditEvent).where(AuditEvent.action == "site.update")).one()
    engine.dispose()
    assert event.before == {"phone": "+86 10 8832 5555"}
    assert event.after == {"phone": "+86 10 8832 6666", "reason": "new night line"}
    assert "+86 10 8832 6666" in followup("sites", "list")[1]


def test_it_lists_each_sites_linked_clinicians(study: str) -> None:
    code, out, _ = followup("sites", "list")
    assert code == 0
    assert "none linked" in out
    _code, invited, _err = followup("staff", "add", "--site", "PKU", "--role", "clinician", "--name", "Dr Li")
    assert "none linked" in followup("sites", "list")[1], "invited is not linked"

    async def link() -> None:
        engine = create_async_engine(study)
        async with open_session(engine) as session:
            linked = await redeem(session, code=invited.split("start=")[1].strip(), chat_id=101, now=datetime.now(UTC))
            assert not isinstance(linked, CodeProblem)
        await engine.dispose()

    asyncio.run(link())
    out = followup("sites", "list")[1]
    assert "Dr Li" in out
    assert "none linked" not in out


def test_it_stops_with_one_line_naming_a_bad_setting(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLLOWUP_TICK_SECONDS", "-3")
    code, _, err = followup("sites", "list")
    assert code == 1
    assert err.startswith("error: FOLLOWUP_TICK_SECONDS: ")
    assert err.count("\n") == 1


def test_it_asks_for_the_upgrade_on_a_new_database(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    code, _, err = followup("sites", "list")
    assert (code, err) == (1, "error: the database has no tables yet: run `followup db upgrade`\n")
    assert followup("db", "upgrade")[0] == 0
    assert followup("sites", "list")[0] == 0


def test_it_needs_a_username_or_token_for_deep_links(study: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FOLLOWUP_BOT_USERNAME")
    from bot.config import get_settings

    get_settings.cache_clear()
    before = counts(study)
    code, _, err = followup("patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S009")
    assert code == 1
    assert "FOLLOWUP_BOT_USERNAME" in err
    assert counts(study) == before
