"""`followup patients update --group`: switching to il2 plans IL-2 doses from the start date the coordinator gives
(never from the baseline), switching to control drops the doses still ahead; past rows stay."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.db import sync_url
from models import AuditEvent, ContactKind, Patient, ScheduledContact
from tests.test_cli import counts, followup, study  # noqa: F401 - the CLI's study fixture

TODAY = date.today()
BASELINE = TODAY - timedelta(days=45)


def _doses(database_url: str) -> list[tuple[int, date, datetime]]:
    engine = create_engine(sync_url(database_url))
    with Session(engine) as session:
        rows = session.execute(
            select(ScheduledContact.cycle, ScheduledContact.planned_date, ScheduledContact.due_at)
            .where(ScheduledContact.kind == ContactKind.DOSE)
            .order_by(ScheduledContact.planned_date)
        )
        found = [(cycle or 0, planned, due.replace(tzinfo=UTC)) for cycle, planned, due in rows]
    engine.dispose()
    return found


def _switch_events(database_url: str) -> list[tuple[object, object]]:
    engine = create_engine(sync_url(database_url))
    with Session(engine) as session:
        events = session.execute(
            select(AuditEvent.before, AuditEvent.after)
            .where(AuditEvent.action == "patient.update")
            .order_by(AuditEvent.id)
        )
        found = [(before, after) for before, after in events]
    engine.dispose()
    return found


def test_it_requires_the_il2_start_to_switch_to_il2_and_plans_doses_from_it(study: str) -> None:  # noqa: F811
    on = BASELINE.isoformat()
    assert followup(
        "patients", "enroll", "--site", "PKU", "--group", "control", "--study-id", "S010", "--enrolled-on", on
    )[0] == 0  # fmt: skip
    assert _doses(study) == []
    before = counts(study)
    for args, message in [
        ([], "--il2-start: give the date of the first IL-2 dose when switching to il2"),
        (["--il2-start", "2026-13-01"], "--il2-start: '2026-13-01' is not a date in the form YYYY-MM-DD"),
        (["--il2-start", "2099-01-01"], "--il2-start: 2099-01-01 is after the end of follow-up"),
    ]:
        code, out, err = followup("patients", "update", "S010", "--group", "il2", *args, "--reason", "list error")
        assert (code, out) == (1, ""), args
        assert err.startswith(f"error: {message}"), err
        assert err.count("\n") == 1, err
    assert followup("patients", "update", "S010", "--il2-start", TODAY.isoformat(), "--reason", "x") == (
        1, "", "error: --il2-start: only for the il2 group\n",
    )  # fmt: skip
    assert counts(study) == before

    start = TODAY + timedelta(days=3)
    code, out, err = followup(
        "patients", "update", "S010", "--group", "il2", "--il2-start", start.isoformat(), "--reason", "list error"
    )
    assert code == 0, err
    doses = _doses(study)
    assert len(doses) == 21, "three cycles of seven doses"
    assert doses[0][:2] == (1, start), "the first dose is on the IL-2 start, not the baseline"
    assert [planned for _, planned, _ in doses[:7]] == [start + timedelta(days=2 * n) for n in range(7)]
    engine = create_engine(sync_url(study))
    with Session(engine) as session:
        assert session.scalars(select(Patient.il2_start)).one() == start
    engine.dispose()
    switched_before, switched_after = _switch_events(study)[-1]
    assert switched_before == {"group": "control", "il2_start": None}
    assert isinstance(switched_after, dict)
    assert switched_after["group"] == "il2"
    assert switched_after["il2_start"] == start.isoformat()
    assert switched_after["reason"] == "list error"

    later = start + timedelta(days=7)
    assert followup("patients", "update", "S010", "--il2-start", later.isoformat(), "--reason", "started late")[0] == 0
    assert _doses(study)[0][1] == later, "the doses ahead move with a corrected IL-2 start"

    assert followup("patients", "update", "S010", "--group", "control", "--reason", "switched back")[0] == 0
    assert _doses(study) == [], "switching to control drops the doses still ahead"
    assert _switch_events(study)[-1][0] == {"group": "il2", "il2_start": later.isoformat()}
