"""Enrollment: a pseudonymous patient, the whole follow-up plan written as rows, and a one-time deep link."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import DEFAULT_LANGUAGE, N_, checked_language
from bot.plan import PlannedContact, checkin_contacts, dose_contacts, monthly_anniversary, parse_clock_time
from bot.protocol import StudyProtocol
from bot.services.audit import record_event, snapshot
from bot.services.errors import DomainError, NotFound
from bot.services.invites import issue_code
from bot.services.preventive import parse_preventive
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

STUDY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
CSV_COLUMNS = ("study_id", "site", "group", "enrolled_on", "il2_start", "language", "reminder_time", "preventive")


class EnrollmentRequest(BaseModel):
    """One patient to enroll, as typed on the command line or read from a CSV row."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    study_id: str = Field(pattern=STUDY_ID_PATTERN)
    site: str = Field(min_length=1, max_length=32)
    group: Group
    enrolled_on: date | None = None
    il2_start: date | None = None
    language: str = DEFAULT_LANGUAGE  # one of bot.i18n.languages()
    reminder_time: time | None = None
    preventive: list[str] = Field(default_factory=list)  # regular preventive medicines (bot.services.preventive)

    @field_validator("preventive", mode="before")
    @classmethod
    def _medicines(cls, value: object) -> object:
        return parse_preventive(value) if isinstance(value, str | list | None) else value

    @field_validator("language")
    @classmethod
    def _catalog_language(cls, value: str) -> str:
        return checked_language(value)

    @field_validator("enrolled_on", "il2_start", "reminder_time", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("reminder_time", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        if isinstance(value, str):
            parsed = parse_clock_time(value)
            if parsed is None:
                raise ValueError("use HH:MM, for example 09:00")
            return parsed
        return value

    @field_validator("enrolled_on", "il2_start", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"{value!r} is not a real date in the form YYYY-MM-DD") from None
        return value

    @field_validator("il2_start")
    @classmethod
    def _only_for_il2(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is not None and info.data.get("group") is Group.CONTROL:
            raise ValueError("only for the il2 group")
        return value


def request_error(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "row"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "string_pattern_mismatch" and field == "study_id":
        message = "use 1-32 letters, digits, '-' or '_'"
    return f"{field}: {message}"


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
    """A CSV row was refused; nothing was imported."""


def parse_enrollment_csv(content: str) -> list[tuple[int, EnrollmentRequest]]:
    """Rows as requests, with their line numbers. The first bad row or column raises, naming both."""
    reader = csv.DictReader(io.StringIO(content.removeprefix("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in ("study_id", "site", "group") if name not in header]
    if missing:
        raise CsvImportError(f"line 1: missing column(s): {', '.join(missing)}")
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise CsvImportError(f"line 1: unknown column(s): {', '.join(unknown)} (allowed: {', '.join(CSV_COLUMNS)})")
    requests: list[tuple[int, EnrollmentRequest]] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            raise CsvImportError(f"line {line}: more fields than columns")
        values = {key.strip(): (value or "") for key, value in row.items() if key is not None}
        if not any(value.strip() for value in values.values()):
            continue
        values = {key: value for key, value in values.items() if value.strip() or key in ("study_id", "site")}
        try:
            request = EnrollmentRequest.model_validate(values)
        except ValidationError as error:
            raise CsvImportError(f"line {line}: {request_error(error)}") from None
        key = request.study_id.lower()
        if key in seen:
            raise CsvImportError(f"line {line}: study_id: {request.study_id} repeats line {seen[key]}")
        seen[key] = line
        requests.append((line, request))
    if not requests:
        raise CsvImportError("the file has no patient rows")
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
            raise CsvImportError(f"line {line}: {error}") from None
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
