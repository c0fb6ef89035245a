"""Enrolling from the console: who may, for which site, and a CSV preview that names every bad row.

Coordinators enroll for their own site, admins for any; the enrollment itself is `enrollment.enroll_patient`
and `enrollment.import_patients` (all rows or none), as on the command line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.protocol import StudyProtocol
from bot.services.enrollment import (
    NO_PATIENT_ROWS,
    REPEATED_STUDY_ID,
    CsvImportError,
    CsvRowError,
    Enrolled,
    enroll_patient,
    import_patients,
    parse_enrollment_csv,
)
from bot.services.enrollment_request import EnrollmentRequest
from bot.services.errors import DomainError
from bot.services.status import may_see_study_data, sites_of
from models import Site, Staff

MAX_CSV_BYTES = 2_000_000


class NotAllowed(DomainError):
    """This staff member may not enroll (only coordinators and admins do)."""


NOT_YOUR_SITE = N_("site: {site} is not a site you enroll for")


@dataclass(frozen=True)
class PreviewRow:
    line: int
    request: EnrollmentRequest | None
    error: DomainError | None


def may_enroll(staff: Staff) -> bool:
    return may_see_study_data(staff)


async def enrollable_sites(session: AsyncSession, *, staff: Staff) -> list[str]:
    """The site codes this staff member may enroll for (none unless coordinator or admin)."""
    if not may_enroll(staff):
        return []
    query = select(Site.code).order_by(Site.code)
    if (limited := sites_of(staff)) is not None:
        query = query.where(Site.id == limited)
    return list(await session.scalars(query))


async def _check_sites(session: AsyncSession, *, staff: Staff, codes: set[str]) -> dict[str, DomainError]:
    """The refused site codes, each with why (not one of this staff member's sites)."""
    allowed = {code.lower() for code in await enrollable_sites(session, staff=staff)}
    return {code: DomainError(NOT_YOUR_SITE, site=code) for code in codes if code.lower() not in allowed}


async def enroll_one(
    session: AsyncSession, *, staff: Staff, request: EnrollmentRequest, protocol: StudyProtocol, now: datetime
) -> Enrolled:
    if not may_enroll(staff):
        raise NotAllowed("only coordinators and admins enroll patients")
    refused = await _check_sites(session, staff=staff, codes={request.site})
    if refused:
        raise refused[request.site]
    return await enroll_patient(session, request=request, protocol=protocol, actor=f"staff:{staff.id}", now=now)


async def preview_csv(session: AsyncSession, *, staff: Staff, content: str) -> list[PreviewRow]:
    """Every row of the file, each checked on its own (the file's own problems raise CsvImportError)."""
    if not may_enroll(staff):
        raise NotAllowed("only coordinators and admins enroll patients")
    reader = csv.reader(io.StringIO(content.removeprefix("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise CsvImportError(NO_PATIENT_ROWS)
    rows: list[PreviewRow] = []
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        try:
            ((_line, request),) = parse_enrollment_csv(_csv([header, values]))
        except CsvRowError as error:
            if error.line == 1:
                raise  # the header: the whole file is refused
            rows.append(PreviewRow(line, None, error.problem))
            continue
        rows.append(PreviewRow(line, request, None))
    if not rows:
        raise CsvImportError(NO_PATIENT_ROWS)
    refused = await _check_sites(session, staff=staff, codes={row.request.site for row in rows if row.request})
    seen: dict[str, int] = {}
    checked = []
    for row in rows:
        problem = row.error
        if row.request is not None:
            key = row.request.study_id.lower()
            problem = refused.get(row.request.site) or (
                DomainError(REPEATED_STUDY_ID, study_id=row.request.study_id, first=seen[key]) if key in seen else None
            )
            seen.setdefault(key, row.line)
        checked.append(PreviewRow(row.line, row.request, problem))
    return checked


async def import_csv(
    session: AsyncSession, *, staff: Staff, content: str, protocol: StudyProtocol, now: datetime
) -> list[Enrolled]:
    """All rows or none, after the same checks as the preview."""
    for row in await preview_csv(session, staff=staff, content=content):
        if row.error is not None:
            raise CsvRowError(row.line, row.error)
    return await import_patients(session, content=content, protocol=protocol, actor=f"staff:{staff.id}", now=now)


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()
