"""The follow-up board: one row per patient in the reader's scope, the monthly check-ins as cells.

Scope is decided here: a staff member sees the patients of their own site, an admin every site (or one, with
the site filter). A page holds 100 patients; only that page's check-ins, answers and alerts are read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.escalation import UNRESOLVED
from bot.services.status import sites_of
from models import (
    ContactKind,
    ContactStatus,
    Escalation,
    Group,
    Patient,
    PatientStatus,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    Site,
    Staff,
)
from models.contact import OPEN_CHECKIN

PAGE_SIZE = 100
OVERDUE_AFTER = timedelta(days=1)
WAITING = (ContactStatus.PLANNED, ContactStatus.OPEN)


class Cell(enum.StrEnum):
    ON_TIME = "on_time"
    LATE = "late"  # answered after its window closed
    PARTIAL = "partial"  # submitted unfinished (red flags)
    MISSED = "missed"
    DUE_NOW = "due_now"
    UPCOMING = "upcoming"
    NOT_APPLICABLE = "not_applicable"  # follow-up ended first


class BoardSort(enum.StrEnum):
    STUDY_ID = "study_id"
    ENROLLED = "enrolled"
    STATUS = "status"


@dataclass(frozen=True)
class BoardQuery:
    site_code: str | None = None  # admins only; others always see their own site
    group: Group | None = None
    status: PatientStatus | None = None
    overdue_only: bool = False
    sort: BoardSort = BoardSort.STUDY_ID
    page: int = 1


@dataclass(frozen=True)
class BoardRow:
    patient_id: int
    study_id: str
    site_code: str
    timezone: str
    group: Group
    status: PatientStatus
    cells: tuple[Cell, ...]  # month 1 first
    last_contact: datetime | None
    open_alerts: int
    overdue: bool


@dataclass(frozen=True)
class Board:
    rows: list[BoardRow]
    total: int
    page: int
    pages: int
    months: int
    sites: list[str]  # the site filter's choices (empty for a staff member limited to one site)


def _overdue(now: datetime) -> ColumnElement[bool]:
    """A check-in sent a day ago or more and still unanswered (its window still open). The predicate is
    written literally so that the partial index of open check-ins serves it."""
    sent = select(ScheduledContact.patient_id).where(text(OPEN_CHECKIN), ScheduledContact.due_at <= now - OVERDUE_AFTER)
    return Patient.id.in_(sent)


def _patient_ids(staff: Staff, query: BoardQuery, now: datetime) -> Select[int]:
    """The ids in scope and matching the filters: narrow, so that paging far reads an index, not the rows."""
    selected = select(Patient.id)
    if (limited := sites_of(staff)) is not None:
        selected = selected.where(Patient.site_id == limited)
    elif query.site_code:
        selected = selected.where(Patient.site_id.in_(select(Site.id).where(Site.code == query.site_code)))
    if query.group is not None:
        selected = selected.where(Patient.group == query.group)
    if query.status is not None:
        selected = selected.where(Patient.status == query.status)
    if query.overdue_only:
        selected = selected.where(_overdue(now))
    return selected


async def follow_up_board(
    session: AsyncSession, *, staff: Staff, query: BoardQuery, months: int, now: datetime
) -> Board:
    selected = _patient_ids(staff, query, now)
    total = int(await session.scalar(select(func.count()).select_from(selected.subquery())) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, query.page), pages)
    order = {
        BoardSort.STUDY_ID: (Patient.study_id,),
        BoardSort.ENROLLED: (Patient.baseline_date.desc(), Patient.study_id),
        BoardSort.STATUS: (Patient.status, Patient.study_id),
    }[query.sort]
    ids = list(await session.scalars(selected.order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    loaded = await session.execute(select(Patient, Site.code).join(Site).where(Patient.id.in_(ids)))
    by_id = {patient.id: (patient, code) for patient, code in loaded}
    found = [by_id[patient_id] for patient_id in ids]
    cells = await _cells(session, ids, months, now)
    last = await _last_contacts(session, ids)
    alerts = await _open_alerts(session, ids)
    overdue = await _overdue_ids(session, ids, now)
    rows = [
        BoardRow(
            patient_id=patient.id,
            study_id=patient.study_id,
            site_code=code,
            timezone=patient.timezone,
            group=patient.group,
            status=patient.status,
            cells=tuple(cells.get(patient.id, {}).get(month, Cell.NOT_APPLICABLE) for month in range(1, months + 1)),
            last_contact=last.get(patient.id),
            open_alerts=alerts.get(patient.id, 0),
            overdue=patient.id in overdue,
        )
        for patient, code in found
    ]
    sites = [] if sites_of(staff) is not None else list(await session.scalars(select(Site.code).order_by(Site.code)))
    return Board(rows=rows, total=total, page=page, pages=pages, months=months, sites=sites)


async def _cells(session: AsyncSession, ids: list[int], months: int, now: datetime) -> dict[int, dict[int, Cell]]:
    rows = await session.execute(
        select(
            ScheduledContact.patient_id,
            ScheduledContact.month,
            ScheduledContact.status,
            ScheduledContact.due_at,
            QuestionnaireResponse.late,
            QuestionnaireResponse.partial,
        )
        .outerjoin(
            QuestionnaireResponse,
            and_(
                QuestionnaireResponse.contact_id == ScheduledContact.id,
                QuestionnaireResponse.status == ResponseStatus.SUBMITTED,
            ),
        )
        .where(
            ScheduledContact.patient_id.in_(ids),
            ScheduledContact.kind == ContactKind.CHECKIN,
            ScheduledContact.month.between(1, months),
        )
    )
    found: dict[int, dict[int, Cell]] = {}
    for patient_id, month, status, due_at, late, partial in rows:
        assert month is not None
        found.setdefault(patient_id, {})[month] = _cell(status, due_at, late, partial, now)
    return found


def _cell(status: ContactStatus, due_at: datetime, late: bool | None, partial: bool | None, now: datetime) -> Cell:
    if partial:
        return Cell.PARTIAL
    if late:
        return Cell.LATE
    if status is ContactStatus.DONE:
        return Cell.ON_TIME
    if status in WAITING:
        return Cell.DUE_NOW if due_at <= now else Cell.UPCOMING
    if status is ContactStatus.MISSED:
        return Cell.MISSED
    return Cell.NOT_APPLICABLE


async def _last_contacts(session: AsyncSession, ids: list[int]) -> dict[int, datetime]:
    """When each patient last answered anything (a check-in, a report, a dose)."""
    latest: dict[int, datetime] = {}
    answered = (
        select(ScheduledContact.patient_id, func.max(ScheduledContact.answered_at))
        .where(ScheduledContact.patient_id.in_(ids))
        .group_by(ScheduledContact.patient_id)
    )
    submitted = (
        select(QuestionnaireResponse.patient_id, func.max(QuestionnaireResponse.submitted_at))
        .where(QuestionnaireResponse.patient_id.in_(ids))
        .group_by(QuestionnaireResponse.patient_id)
    )
    for query in (answered, submitted):
        for patient_id, at in await session.execute(query):
            if at is not None and (patient_id not in latest or at > latest[patient_id]):
                latest[patient_id] = at
    return latest


async def _open_alerts(session: AsyncSession, ids: list[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Escalation.patient_id, func.count())
        .where(Escalation.patient_id.in_(ids), Escalation.status.in_(UNRESOLVED))
        .group_by(Escalation.patient_id)
    )
    return {patient_id: int(count) for patient_id, count in rows}


async def _overdue_ids(session: AsyncSession, ids: list[int], now: datetime) -> set[int]:
    return set(await session.scalars(select(Patient.id).where(Patient.id.in_(ids), _overdue(now))))
