"""Enrollment: a pseudonymous patient, the whole follow-up plan written as rows, and a one-time deep link."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.plan import PlannedContact, checkin_contacts, dose_contacts, monthly_anniversary
from bot.protocol import StudyProtocol
from bot.services.audit import record_event, snapshot
from bot.services.enrollment_request import EnrollmentRequest, request_problem
from bot.services.errors import DomainError, NotFound
from bot.services.invites import issue_code
from bot.services.sites import get_site
from models import (
    ContactStatus,
    Group,
    InvitePurpose,
    Patient,
    PatientStatus,
    ScheduledContact,
    Site,
)

CSV_COLUMNS = ("study_id", "site", "group", "enrolled_on", "il2_start", "language", "reminder_time", "preventive")
REPEATED_STUDY_ID = N_("study_id: {study_id} repeats line {first}")
NO_PATIENT_ROWS = N_("the file has no patient rows")


@dataclass(frozen=True)
class Enrolled:
    patient: Patient
    code: str


async def _check_request(
    session: AsyncSession, *, request: EnrollmentRequest, site: Site, protocol: StudyProtocol, today: date
) -> tuple[date, date | None]:
    baseline = request.enrolled_on or today
    if baseline > today + timedelta(days=1):
        raise DomainError(N_("enrolled_on: {day} is in the future"), day=baseline)
    if monthly_anniversary(baseline, protocol.follow_up_end.after_months) <= today:
        raise DomainError(N_("enrolled_on: {day} is so long ago that follow-up would already be over"), day=baseline)
    il2_start = request.il2_start
    if request.group is Group.IL2:
        il2_start = il2_start or baseline
        if il2_start > monthly_anniversary(baseline, protocol.follow_up_end.after_months):
            raise DomainError(N_("il2_start: {day} is after the end of follow-up"), day=il2_start)
    existing = await session.scalar(
        select(Patient.study_id).where(func.lower(Patient.study_id) == request.study_id.lower())
    )
    if existing is not None:
        raise DomainError(N_("study_id: {study_id} is enrolled already"), study_id=existing)
    return baseline, il2_start


async def _enroll_one(
    session: AsyncSession,
    *,
    request: EnrollmentRequest,
    protocol: StudyProtocol,
    actor: str,
    now: datetime,
) -> Enrolled:
    site = await get_site(session, code=request.site)
    zone = ZoneInfo(site.timezone)
    today = now.astimezone(zone).date()
    baseline, il2_start = await _check_request(session, request=request, site=site, protocol=protocol, today=today)
    patient = Patient(
        study_id=request.study_id,
        site_id=site.id,
        group=request.group,
        status=PatientStatus.ENROLLED,
        baseline_date=baseline,
        il2_start=il2_start,
        timezone=site.timezone,
        language=request.language,
        reminder_time=request.reminder_time or protocol.checkin_plan.default_reminder_time,
        preventive_medicines=request.preventive,
        created_at=now,
    )
    session.add(patient)
    await session.flush()
    write_plan(session, patient=patient, protocol=protocol)
    code = issue_code(
        session,
        purpose=InvitePurpose.PATIENT,
        now=now,
        valid_days=protocol.enrollment.invite_valid_days,
        patient_id=patient.id,
    )
    record_event(session, actor=actor, action="patient.enroll", entity=patient, at=now, after=snapshot(patient))
    return Enrolled(patient=patient, code=code)


def write_plan(session: AsyncSession, *, patient: Patient, protocol: StudyProtocol) -> int:
    """Add every check-in and dose-reminder row of the patient's follow-up. Returns the number of rows."""
    planned = planned_contacts(patient=patient, protocol=protocol)
    session.add_all(contact_row(patient=patient, contact=contact) for contact in planned)
    return len(planned)


def planned_contacts(*, patient: Patient, protocol: StudyProtocol) -> list[PlannedContact]:
    """The patient's whole plan from their baseline, group, IL-2 start and reminder time."""
    zone = ZoneInfo(patient.timezone)
    planned = checkin_contacts(
        baseline=patient.baseline_date,
        reminder_time=patient.reminder_time,
        zone=zone,
        plan=protocol.checkin_plan,
    )
    if patient.group is Group.IL2 and patient.il2_start is not None:
        planned += dose_contacts(
            il2_start=patient.il2_start,
            first_day=patient.baseline_date,
            last_day=monthly_anniversary(patient.baseline_date, protocol.follow_up_end.after_months),
            reminder_time=patient.reminder_time,
            zone=zone,
            regimen=protocol.dose_regimen,
        )
    return planned


def contact_row(*, patient: Patient, contact: PlannedContact) -> ScheduledContact:
    return ScheduledContact(
        patient_id=patient.id,
        kind=contact.kind,
        month=contact.month,
        cycle=contact.cycle,
        dose_number=contact.dose_number,
        planned_date=contact.planned_date,
        due_at=contact.due_at,
        window_end=contact.window_end,
        status=ContactStatus.PLANNED,
        next_action_at=contact.due_at,
        dedupe_key=contact.dedupe_key(patient.id),
    )


async def enroll_patient(
    session: AsyncSession, *, request: EnrollmentRequest, protocol: StudyProtocol, actor: str, now: datetime
) -> Enrolled:
    enrolled = await _enroll_one(session, request=request, protocol=protocol, actor=actor, now=now)
    await session.commit()
    return enrolled


class CsvImportError(DomainError):
    """The CSV file or one of its rows was refused; nothing was imported."""


class CsvRowError(CsvImportError):
    """A refused line of the file (line 1 is the header): "line 3: group: ...", the problem in the reader's words."""

    def __init__(self, line: int, problem: DomainError) -> None:
        super().__init__(N_("line {line}: {problem}"), line=line, problem=problem)
        self.line, self.problem = line, problem


def parse_enrollment_csv(content: str) -> list[tuple[int, EnrollmentRequest]]:
    """Rows as requests, with their line numbers. The first bad row or column raises, naming both."""
    reader = csv.DictReader(io.StringIO(content.removeprefix("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in ("study_id", "site", "group") if name not in header]
    if missing:
        raise CsvRowError(1, DomainError(N_("missing column(s): {columns}"), columns=", ".join(missing)))
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        refused = DomainError(
            N_("unknown column(s): {columns} (allowed: {allowed})"),
            columns=", ".join(unknown),
            allowed=", ".join(CSV_COLUMNS),
        )
        raise CsvRowError(1, refused)
    requests: list[tuple[int, EnrollmentRequest]] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            raise CsvRowError(line, DomainError(N_("more fields than columns")))
        values = {key.strip(): (value or "") for key, value in row.items() if key is not None}
        if not any(value.strip() for value in values.values()):
            continue
        values = {key: value for key, value in values.items() if value.strip() or key in ("study_id", "site")}
        try:
            request = EnrollmentRequest.model_validate(values)
        except ValidationError as error:
            raise CsvRowError(line, request_problem(error)) from None
        key = request.study_id.lower()
        if key in seen:
            raise CsvRowError(line, DomainError(REPEATED_STUDY_ID, study_id=request.study_id, first=seen[key]))
        seen[key] = line
        requests.append((line, request))
    if not requests:
        raise CsvImportError(NO_PATIENT_ROWS)
    return requests


async def import_patients(
    session: AsyncSession, *, content: str, protocol: StudyProtocol, actor: str, now: datetime
) -> list[Enrolled]:
    """All rows or none: the first refused row rolls everything back and is named with its line."""
    enrolled = []
    for line, request in parse_enrollment_csv(content):
        try:
            enrolled.append(await _enroll_one(session, request=request, protocol=protocol, actor=actor, now=now))
        except DomainError as error:
            await session.rollback()
            raise CsvRowError(line, error) from None
    await session.commit()
    return enrolled


async def get_patient(session: AsyncSession, *, study_id: str) -> Patient:
    patient = await session.scalar(select(Patient).where(func.lower(Patient.study_id) == study_id.lower()))
    if patient is None:
        raise NotFound(f"no patient with study ID {study_id!r}")
    return patient


async def list_patients(session: AsyncSession, *, site_code: str | None = None) -> list[tuple[Patient, Site]]:
    query = select(Patient, Site).join(Site, Patient.site_id == Site.id).order_by(Patient.study_id)
    if site_code:
        query = query.where(Site.code == site_code.upper())
    return [(first, second) for first, second in await session.execute(query)]


async def plan_rows(session: AsyncSession, *, patient_id: int) -> Sequence[ScheduledContact]:
    query = (
        select(ScheduledContact)
        .where(ScheduledContact.patient_id == patient_id)
        .order_by(ScheduledContact.due_at, ScheduledContact.kind)
    )
    return (await session.scalars(query)).all()
