"""Who needs a call: `followup patients list --overdue` lists patients in follow-up who missed their latest
check-ins, cannot be reached or never linked Telegram, most missed first."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import create_engine, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from bot.clock import FakeClock
from bot.db import session_factory, sync_url
from bot.protocol import StudyProtocol
from bot.simulator.harness import Harness
from models import ContactKind, ContactStatus, Patient, PatientStatus, ScheduledContact, StaffRole
from tests.bot_fixtures import enrolled
from tests.test_cli import counts, followup, study  # noqa: F401 - the CLI's study fixture
from tests.test_patient_bot import staff_invite

BASELINE = date.today() - timedelta(days=100)


def _checkins(session: Session, study_id: str, statuses: list[ContactStatus]) -> None:
    patient = session.scalars(select(Patient).where(Patient.study_id == study_id)).one()
    patient.status, patient.consented_at = PatientStatus.ACTIVE, datetime.now(UTC) - timedelta(days=99)
    for month, status in enumerate(statuses, start=1):
        answered = datetime.combine(BASELINE + timedelta(days=30 * month), datetime.min.time(), UTC) + timedelta(
            hours=2
        )
        session.execute(
            update(ScheduledContact)
            .where(
                ScheduledContact.patient_id == patient.id,
                ScheduledContact.kind == ContactKind.CHECKIN,
                ScheduledContact.month == month,
            )
            .values(status=status, answered_at=answered if status is ContactStatus.DONE else None)
        )


def test_it_lists_who_needs_a_call_most_missed_first(study: str) -> None:  # noqa: F811
    for study_id in ("S001", "S002", "S003", "S004"):
        on = BASELINE.isoformat()
        assert followup("patients", "enroll", "--site", "PKU", "--group", "control", "--study-id", study_id,
                        "--enrolled-on", on)[0] == 0  # fmt: skip
    done, missed = ContactStatus.DONE, ContactStatus.MISSED
    engine = create_engine(sync_url(study))
    with Session(engine) as session:
        _checkins(session, "S001", [done, missed, missed])
        _checkins(session, "S002", [done, done, done])
        _checkins(session, "S004", [done, done, done])
        session.execute(update(Patient).where(Patient.study_id == "S004").values(unreachable=True))
        session.commit()
    engine.dispose()
    code, out, err = followup("patients", "list", "--overdue")
    assert code == 0, err
    rows = [line for line in out.splitlines() if re.match(r"^│ S00\d", line)]
    cells = [[cell.strip() for cell in row.strip("│").split("│")] for row in rows]
    month = {k: (BASELINE + timedelta(days=30 * k)) for k in (1, 3)}
    assert [row[0] for row in cells] == ["S001", "S003", "S004"]
    assert cells[0][2:4] == [month[1].isoformat(), "2"]
    assert cells[1][5] == "never linked"
    assert cells[2][2] == month[3].isoformat()
    assert cells[2][5] == "unreachable"
    before = counts(study)
    assert followup("patients", "list", "--overdue", "--site", "XYZ") == (1, "", "error: no site with code 'XYZ'\n")
    assert counts(study) == before


async def test_it_pages_who_needs_a_call_for_a_coordinator_in_telegram(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    for number in range(1, 13):
        await enrolled(engine, protocol, clock, study_id=f"P{number:03d}", enrolled_on=date(2026, 1, 20))
    async with session_factory(engine)() as session:
        await session.execute(
            update(ScheduledContact)
            .where(ScheduledContact.kind == ContactKind.CHECKIN, ScheduledContact.month == 1)
            .values(status=ContactStatus.MISSED)
        )
        await session.execute(update(Patient).values(status=PatientStatus.ACTIVE, consented_at=clock.now()))
        await session.commit()
    coordinator = await staff_invite(engine, clock, StaffRole.COORDINATOR, "Ms Wang")
    clinician = await staff_invite(engine, clock, StaffRole.CLINICIAN, "Dr Li")
    await bot.send(42, f"/start {coordinator}", language="en")
    await bot.send(43, f"/start {clinician}", language="en")
    await bot.send(42, "/overdue", language="en")
    first = bot.last_text(42)
    assert first.startswith("📞 Who needs a call (12):")
    assert "• P001 (PKU): no check-in yet; 1 missed in a row; next due 2026-03-20" in first
    assert first.count("\n• ") == 10
    await bot.tap(42, "Next page")
    second = bot.last_text(42)
    assert second.count("\n• ") == 2
    assert "P012" in second
    await bot.send(43, "/overdue", language="en")
    assert bot.last_text(43) == "This command is for coordinators and admins."
