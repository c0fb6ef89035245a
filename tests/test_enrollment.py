"""Enrollment writes the whole plan as rows; changes update rows and leave an audit trail."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import FakeClock
from bot.protocol import StudyProtocol
from bot.services.enrollment import CsvImportError, import_patients, plan_rows
from bot.services.errors import DomainError
from bot.services.invites import find_code, hash_code
from bot.services.patient_status import WithdrawalKind, withdraw
from bot.services.schedule import change_reminder_time, shift_doses
from models import (
    AuditEvent,
    ContactKind,
    ContactStatus,
    InviteCode,
    Patient,
    PatientStatus,
    ScheduledContact,
)
from tests.factories import COORDINATOR, count, enroll, make_site

TODAY = date(2026, 3, 2)  # the fake clock's day in Shanghai


@pytest.fixture
async def site(session: AsyncSession, clock: FakeClock) -> None:
    await make_site(session, clock)


@pytest.mark.usefixtures("site")
async def test_it_writes_24_checkins_and_21_doses_for_an_il2_patient(
    session: AsyncSession, protocol: StudyProtocol, clock: FakeClock
) -> None:
    enrolled = await enroll(session, protocol, clock)
    rows = await plan_rows(session, patient_id=enrolled.patient.id)
    kinds = [row.kind for row in rows]
    assert kinds.count(ContactKind.CHECKIN) == 24
    assert kinds.count(ContactKind.DOSE) == 21
    assert {row.status for row in rows} == {ContactStatus.PLANNED}
    assert all(row.next_action_at == row.due_at for row in rows)
    assert enrolled.patient.status is PatientStatus.ENROLLED
    assert enrolled.patient.baseline_date == TODAY
    assert enrolled.patient.timezone == "Asia/Shanghai"
    assert enrolled.patient.reminder_time == time(9)


@pytest.mark.usefixtures("site")
async def test_it_plans_no_doses_for_the_control_group(
    session: AsyncSession, protocol: StudyProtocol, clock: FakeClock
) -> None:
    enrolled = await enroll(session, protocol, clock, group="control")
    rows = await plan_rows(session, patient_id=enrolled.patient.id)
    assert [row.kind for row in rows] == [ContactKind.CHECKIN] * 24


@pytest.mark.usefixtures("site")
async def test_it_stores_only_a_hash_of_the_single_use_code(
    session: AsyncSession, protocol: StudyProtocol, clock: FakeClock
) -> None:
    enrolled = await enroll(session, protocol, clock)
    stored = await session.scalar(select(InviteCode))
    assert stored is not None
    assert stored.code_hash == hash_code(enrolled.code) != enrolled.code
    assert stored.expires_at == clock.now() + timedelta(days=protocol.enrollment.invite_valid_days)
    assert await find_code(session, code=enrolled.code) is stored
    assert await find_code(session, code="guess") is None


@pytest.mark.usefixtures("site")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"study_id": "s001"}, "S001 is enrolled already"),
        ({"enrolled_on": TODAY + timedelta(days=3)}, "is in the future"),
        ({"enrolled_on": date(2023, 1, 1)}, "follow-up would already be over"),
        ({"site": "XYZ"}, "no site with code"),
    ],
)
async def test_it_refuses_an_enrollment_that_cannot_be_right(
    session: AsyncSession, protocol: StudyProtocol, clock: FakeClock, change: dict[str, object], message: str
) -> None:
    await enroll(session, protocol, clock, study_id="S001")
    before = await count(session, ScheduledContact)
    with pytest.raises(DomainError, match=message):
        await enroll(session, protocol, clock, **{"study_id": "S002", **change})  # type: ignore[arg-type]
    await session.rollback()
    assert await count(session, Patient) == 1
    assert await count(session, ScheduledContact) == before


@pytest.mark.usefixtures("site")
async def test_it_audits_enrollment_with_the_new_values(
    session: AsyncSession, protocol: StudyProtocol, clock: FakeClock
) -> None:
    await enroll(session, protocol, clock)
    event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.enroll"))
    assert event is not None
    assert event.actor == COORDINATOR
    assert event.before is None
    assert event.after is not None
    assert event.after["study_id"] == "S001"
    assert event.after["group"] == "il2"


@pytest.mark.usefixtures("site")
async def test_it_withdraws_and_cancels_what_is_still_to_come(
    session: AsyncSession, protocol: StudyProtocol, clock: FakeClock
) -> None:
    enrolled = await enroll(session, protocol, clock, enrolled_on=TODAY - timedelta(days=40))
    clock.advance(timedelta(days=1))
    cancelled = await withdraw(
        session,
        patient=enrolled.patient,
        kind=WithdrawalKind.WITHDRAW_CONSENT,
        note="moved away",
        actor=COORDINATOR,
        now=clock.now(),
    )
    rows = await plan_rows(session, patient_id=enrolled.patient.id)
    statuses = {row.dedupe_key: row.status for row in rows}
    assert enrolled.patient.status is PatientStatus.WITHDRAWN
    assert statuses[f"checkin:{enrolled.patient.id}:m1"] is ContactStatus.MISSED  # its window closed unanswered
    assert cancelled == sum(status is ContactStatus.CANCELLED for status in statuses.values()) > 20
    assert all(row.next_action_at is None for row in rows)
    with pytest.raises(DomainError, match="already ended"):
        await withdraw(
            session,
            patient=enrolled.patient,
            kind=WithdrawalKind.STOP_CONTACT,
            note=None,
            actor=COORDINATOR,
            now=clock.now(),
        )


@pytest.mark.usefixtures("site")
async def test_it_shifts_only_future_doses(session: AsyncSession, protocol: StudyProtocol, clock: FakeClock) -> None:
    enrolled = await enroll(session, protocol, clock, enrolled_on=TODAY - timedelta(days=3))
    doses_before = [
        row.planned_date
        for row in await plan_rows(session, patient_id=enrolled.patient.id)
        if row.kind is ContactKind.DOSE
    ]
    moved = await shift_doses(
        session, patient=enrolled.patient, days=2, protocol=protocol, actor=COORDINATOR, now=clock.now()
    )
    rows = [row for row in await plan_rows(session, patient_id=enrolled.patient.id) if row.kind is ContactKind.DOSE]
    assert moved == 19  # doses on day 0 and day 2 were before now
    assert [row.planned_date for row in rows[:2]] == doses_before[:2]
    assert [row.planned_date for row in rows[2:]] == [day + timedelta(days=2) for day in doses_before[2:]]
    assert all(row.due_at.astimezone().hour == 1 for row in rows[2:])  # 09:00 in Shanghai
    with pytest.raises(DomainError, match="already past"):
        await shift_doses(
            session, patient=enrolled.patient, days=-30, protocol=protocol, actor=COORDINATOR, now=clock.now()
        )


@pytest.mark.usefixtures("site")
async def test_it_refuses_to_shift_doses_of_a_control_patient(
    session: AsyncSession, protocol: StudyProtocol, clock: FakeClock
) -> None:
    enrolled = await enroll(session, protocol, clock, group="control")
    with pytest.raises(DomainError, match="control group"):
        await shift_doses(
            session, patient=enrolled.patient, days=1, protocol=protocol, actor=COORDINATOR, now=clock.now()
        )


@pytest.mark.usefixtures("site")
async def test_it_retimes_future_contacts_when_the_reminder_time_changes(
    session: AsyncSession, protocol: StudyProtocol, clock: FakeClock
) -> None:
    enrolled = await enroll(session, protocol, clock)
    retimed = await change_reminder_time(
        session,
        patient=enrolled.patient,
        reminder_time=time(20, 30),
        protocol=protocol,
        actor="patient:S001",
        now=clock.now(),
    )
    rows = await plan_rows(session, patient_id=enrolled.patient.id)
    assert retimed == 44  # the first dose is due right now and keeps its time
    later = [row for row in rows if row.due_at > clock.now()]
    assert len(later) == 44
    assert {(row.due_at.hour, row.due_at.minute) for row in later} == {(12, 30)}  # 20:30 in Shanghai


@pytest.mark.usefixtures("site")
async def test_it_imports_a_csv_all_or_nothing_and_names_the_bad_row(
    session: AsyncSession, protocol: StudyProtocol, clock: FakeClock
) -> None:
    bad = "\ufeffstudy_id,site,group,enrolled_on\nA1,PKU,il2,2026-03-01\nA2,PKU,control,2026-02-30\n"
    with pytest.raises(CsvImportError, match=r"^line 3: enrolled_on: '2026-02-30' is not a real date"):
        await import_patients(session, content=bad, protocol=protocol, actor=COORDINATOR, now=clock.now())
    assert await count(session, Patient) == 0
    good = bad.replace("2026-02-30", "2026-02-28")
    enrolled = await import_patients(session, content=good, protocol=protocol, actor=COORDINATOR, now=clock.now())
    assert [item.patient.study_id for item in enrolled] == ["A1", "A2"]


@pytest.mark.usefixtures("site")
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("study_id,group\nA1,il2\n", "line 1: missing column(s): site"),
        ("study_id,site,group,name\nA1,PKU,il2,Wang\n", "line 1: unknown column(s): name"),
        ("study_id,site,group\nA1,PKU,il2\nA1,PKU,il2\n", "line 3: study_id: A1 repeats line 2"),
        ("study_id,site,group\nA1,PKU,il2\nA2,XYZ,il2\n", "line 3: no site with code 'XYZ'"),
        ("study_id,site,group,reminder_time\nA1,PKU,il2,25:00\n", "line 2: reminder_time: use HH:MM"),
        (
            "study_id,site,group,il2_start\nA1,PKU,control,2026-03-01\n",
            "line 2: il2_start: only for the il2 group",
        ),
        ("study_id,site,group\n", "no patient rows"),
    ],
)
async def test_it_names_the_row_and_column_a_csv_import_refuses(
    session: AsyncSession, protocol: StudyProtocol, clock: FakeClock, content: str, message: str
) -> None:
    with pytest.raises(CsvImportError) as refused:
        await import_patients(session, content=content, protocol=protocol, actor=COORDINATOR, now=clock.now())
    assert message in str(refused.value)
    assert await count(session, Patient) == 0
