"""The IL-2 regimen is "at least 3 cycles": coordinators plan more with `followup patients add-cycles`, and
nothing the bot says after the planned cycles reads as "stop your medicine"."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import create_engine, select

from bot.db import sync_url
from models import AuditEvent, ContactKind, ScheduledContact
from tests.test_cli import counts, followup, study  # noqa: F401 - the CLI study fixture


def doses_and_events(database_url: str) -> tuple[list[Any], list[Any]]:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as connection:
        rows = connection.execute(
            select(ScheduledContact.cycle, ScheduledContact.dose_number, ScheduledContact.planned_date)
            .where(ScheduledContact.kind == ContactKind.DOSE)
            .order_by(ScheduledContact.planned_date)
        ).all()
        events = connection.execute(select(AuditEvent.action, AuditEvent.after)).all()
    engine.dispose()
    return list(rows), list(events)


def test_it_plans_more_cycles_after_the_last_one_and_audits_it(study: str) -> None:  # noqa: F811
    baseline = date.today() - timedelta(days=1)
    followup(
        "patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S001", "--enrolled-on", str(baseline)
    )
    code, out, err = followup("patients", "add-cycles", "S001", "--cycles", "2")
    assert code == 0, err
    assert out == f"14 doses added to S001, cycles 4-5, from {baseline + timedelta(days=84)}\n"
    rows, events = doses_and_events(study)
    assert [row[0] for row in rows] == [1] * 7 + [2] * 7 + [3] * 7 + [4] * 7 + [5] * 7
    assert next(row[2] for row in rows if row[0] == 4) == baseline + timedelta(days=84)
    assert [row[2] for row in rows if row[0] == 5][-1] == baseline + timedelta(days=112 + 12)
    assert (
        "patient.add_cycles",
        {"cycles": 5, "first_dose": str(baseline + timedelta(days=84)), "doses_added": 14},
    ) in [(action, after) for action, after in events]


def test_it_refuses_bad_input_in_one_line_and_writes_nothing(study: str) -> None:  # noqa: F811
    followup("patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S001")
    followup("patients", "enroll", "--site", "PKU", "--group", "control", "--study-id", "C001")
    before = counts(study)
    for args, message in [
        (("S001", "--cycles", "0"), "error: cycles: give a number from 1 to 20\n"),
        (("S001", "--cycles", "21"), "error: cycles: give a number from 1 to 20\n"),
        (("C001", "--cycles", "1"), "error: C001 is in the control group and has no doses\n"),
        (("NOBODY", "--cycles", "1"), "error: no patient with study ID 'NOBODY'\n"),
    ]:
        code, out, err = followup("patients", "add-cycles", *args)
        assert (code, out, err) == (1, "", message)
    assert counts(study) == before
