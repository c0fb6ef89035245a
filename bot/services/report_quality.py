"""Adherence and data quality by group and site, up to a cut-off: monthly check-ins on time, late or missed
(whose window has closed), open at the cut-off (window still open, not answered yet: neither due nor missed),
doses confirmed (whose day has passed), answers and infection records corrected."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, and_, exists, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.protocol import StudyProtocol
from models import (
    Answer,
    ContactKind,
    ContactStatus,
    Infection,
    Patient,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    Site,
)

QUALITY_COLUMNS = [
    "group",
    "site",
    "checkins_due",
    "checkins_on_time",
    "checkins_late",
    "checkins_missed",
    "doses_due",
    "doses_confirmed",
    "answers_corrected",
    "infections_corrected",
    "checkins_open",
]


def end_of(cutoff: date) -> datetime:
    """The cut-off as an instant: the end of the cut-off date (UTC)."""
    return datetime.combine(cutoff + timedelta(days=1), time(), UTC)


def open_at_cutoff(cutoff: date) -> ColumnElement[bool]:
    """A check-in whose window was still open at the cut-off and not answered by then: not yet due, never missed."""
    moment = end_of(cutoff)
    response = aliased(QuestionnaireResponse)  # the caller may join responses itself
    answered = exists().where(
        response.contact_id == ScheduledContact.id,
        response.status == ResponseStatus.SUBMITTED,
        response.submitted_at < moment,
    )
    return (ScheduledContact.kind == ContactKind.CHECKIN) & (ScheduledContact.window_end > moment) & ~answered


def provenance(
    session: AsyncSession,
    *,
    protocol: StudyProtocol,
    cutoff: date,
    now: datetime,
    scope: str,
    counts: dict[str, int],
) -> dict[str, str]:
    """What produced the report. The protocol has no version number of its own: its digest (SHA-256 of the
    protocol as loaded) tells two versions apart. The database is named by its kind and name, never its URL."""
    try:
        version = metadata.version("sle-followup-bot")
    except metadata.PackageNotFoundError:
        version = "not installed"
    url = session.get_bind().engine.url
    return {
        "generated_at": now.strftime("%Y-%m-%d %H:%M UTC"),
        "cutoff": cutoff.isoformat(),
        "scope": scope,
        "software_version": version,
        "protocol": protocol.study.id,
        "protocol_digest": hashlib.sha256(protocol.model_dump_json().encode()).hexdigest()[:12],
        "database": f"{url.get_backend_name()} {Path(url.database or '').name}".strip(),
        **{name: str(number) for name, number in counts.items()},
    }


def site_scope(site_id: int | None) -> ColumnElement[bool]:
    """The patients a report covers: one site's, or (None) every site's."""
    return true() if site_id is None else Patient.site_id == site_id


async def data_quality(session: AsyncSession, *, cutoff: date, site_id: int | None = None) -> pd.DataFrame:
    """One row per group and site (consented patients of `site_id`, None: all); counts only, no patient data."""
    counts: dict[tuple[str, str], dict[str, int]] = {}

    def add(group: Any, site: str, column: str, number: int) -> None:
        row = counts.setdefault((group.value, site), dict.fromkeys(QUALITY_COLUMNS[2:], 0))
        row[column] += number

    closed = (
        (ScheduledContact.planned_date < cutoff)
        & (ScheduledContact.status != ContactStatus.CANCELLED)
        & Patient.consented_at.is_not(None)
        & site_scope(site_id)
    )
    submitted = and_(
        QuestionnaireResponse.contact_id == ScheduledContact.id,
        QuestionnaireResponse.status == ResponseStatus.SUBMITTED,
    )
    still_open = open_at_cutoff(cutoff).label("still_open")
    checkins = await session.execute(
        select(Patient.group, Site.code, ScheduledContact.status, QuestionnaireResponse.late, still_open, func.count())
        .select_from(Patient)
        .join(Site, Patient.site_id == Site.id)
        .join(ScheduledContact, ScheduledContact.patient_id == Patient.id)
        .outerjoin(QuestionnaireResponse, submitted)
        .where(closed, ScheduledContact.kind == ContactKind.CHECKIN)
        .group_by(Patient.group, Site.code, ScheduledContact.status, QuestionnaireResponse.late, still_open)
    )
    for group, site, status, late, is_open, number in checkins:
        if is_open:
            add(group, site, "checkins_open", number)
            continue
        add(group, site, "checkins_due", number)
        if late:
            add(group, site, "checkins_late", number)
        elif late is not None or status is ContactStatus.DONE:
            add(group, site, "checkins_on_time", number)
        else:
            add(group, site, "checkins_missed", number)
    doses = await session.execute(
        select(Patient.group, Site.code, ScheduledContact.status, func.count())
        .select_from(Patient)
        .join(Site, Patient.site_id == Site.id)
        .join(ScheduledContact, ScheduledContact.patient_id == Patient.id)
        .where(closed, ScheduledContact.kind == ContactKind.DOSE)
        .group_by(Patient.group, Site.code, ScheduledContact.status)
    )
    for group, site, status, number in doses:
        add(group, site, "doses_due", number)
        add(group, site, "doses_confirmed", number if status is ContactStatus.TAKEN else 0)
    answers = await session.execute(
        select(Patient.group, Site.code, func.count())
        .select_from(Patient)
        .join(Site, Patient.site_id == Site.id)
        .join(QuestionnaireResponse, QuestionnaireResponse.patient_id == Patient.id)
        .join(Answer, Answer.response_id == QuestionnaireResponse.id)
        .where(Answer.corrected.is_(True), Patient.consented_at.is_not(None), site_scope(site_id))
        .group_by(Patient.group, Site.code)
    )
    for group, site, number in answers:
        add(group, site, "answers_corrected", number)
    infections = await session.execute(
        select(Patient.group, Site.code, func.count())
        .select_from(Patient)
        .join(Site, Patient.site_id == Site.id)
        .join(Infection, Infection.patient_id == Patient.id)
        .where(
            Infection.corrected.is_(True),
            Infection.onset_date <= cutoff,
            Patient.consented_at.is_not(None),
            site_scope(site_id),
        )
        .group_by(Patient.group, Site.code)
    )
    for group, site, number in infections:
        add(group, site, "infections_corrected", number)
    return pd.DataFrame(
        [{"group": group, "site": site, **row} for (group, site), row in sorted(counts.items())],
        columns=QUALITY_COLUMNS,
    )
