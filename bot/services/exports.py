"""Export datasets as streams of row chunks (bounded memory on a large study). Keyed by study ID only:
the Telegram id never leaves the database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeAlias

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.forms import FORMS, Kind
from bot.services.codebook import DATASETS, column_prefix
from models import (
    Answer,
    ContactKind,
    Escalation,
    FormKind,
    Infection,
    Patient,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    Site,
    Staff,
    TriageDecision,
)

Row = dict[str, Any]
Query: TypeAlias = Select[*tuple[Any, ...]]
CHUNK = 20_000


def _site_filter(query: Query, site_code: str | None) -> Query:
    return query if site_code is None else query.where(Site.code == site_code.upper())


def _joined(value: Any) -> Any:
    return ";".join(str(part) for part in value) if isinstance(value, list) else value


def _named(dataset: str, *, enums: tuple[str, ...]) -> Callable[[Any], Row]:
    """A row selected in the codebook's column order, named by it; enum columns as their codes."""
    names = [column.name for column in DATASETS[dataset]]

    def row(record: Any) -> Row:
        values = dict(zip(names, record, strict=True))
        for name in enums:
            values[name] = values[name].value
        return values

    return row


def _patients(site_code: str | None) -> tuple[Query, Callable[[Any], Row]]:
    query = (
        select(
            Patient.study_id,
            Site.code,
            Patient.group,
            Patient.status,
            Patient.baseline_date,
            Patient.il2_start,
            Patient.language,
            Patient.timezone,
            Patient.consented_at,
            Patient.unreachable,
            Patient.ended_at,
            Patient.end_reason,
        )
        .join(Site, Patient.site_id == Site.id)
        .order_by(Patient.study_id)
    )
    return _site_filter(query, site_code), _named("patients", enums=("group", "status", "language"))


def _answers(site_code: str | None) -> tuple[Query, Callable[[Any], Row]]:
    query = (
        select(
            Patient.study_id,
            QuestionnaireResponse.id,
            QuestionnaireResponse.form,
            QuestionnaireResponse.status,
            Answer.item_id,
            Answer.value,
            Answer.answered_at,
        )
        .join(QuestionnaireResponse, Answer.response_id == QuestionnaireResponse.id)
        .join(Patient, QuestionnaireResponse.patient_id == Patient.id)
        .join(Site, Patient.site_id == Site.id)
        .order_by(QuestionnaireResponse.id, Answer.id)
    )

    def row(record: Any) -> Row:
        study_id, response_id, form, status, item, value, answered_at = record
        return {
            "study_id": study_id,
            "response_id": response_id,
            "form": form.value,
            "response_status": status.value,
            "item_id": item,
            "value": None if value is None else str(_joined(value)),
            "answered_at": answered_at,
        }

    return _site_filter(query, site_code), row


def _doses(site_code: str | None) -> tuple[Query, Callable[[Any], Row]]:
    query = (
        select(
            Patient.study_id,
            Site.code,
            ScheduledContact.cycle,
            ScheduledContact.dose_number,
            ScheduledContact.planned_date,
            ScheduledContact.status,
            ScheduledContact.answered_at,
            ScheduledContact.reminders_sent,
            ScheduledContact.snoozes,
        )
        .join(Patient, ScheduledContact.patient_id == Patient.id)
        .join(Site, Patient.site_id == Site.id)
        .where(ScheduledContact.kind == ContactKind.DOSE)
        .order_by(Patient.study_id, ScheduledContact.due_at)
    )
    return _site_filter(query, site_code), _named("doses", enums=("status",))


def _escalations(site_code: str | None) -> tuple[Query, Callable[[Any], Row]]:
    acknowledger = aliased(Staff)
    query = (
        select(Escalation, Patient.study_id, Patient.group, Site.code, acknowledger.role)
        .join(Patient, Escalation.patient_id == Patient.id)
        .join(Site, Escalation.site_id == Site.id)
        .outerjoin(acknowledger, Escalation.acknowledged_by == acknowledger.id)
        .order_by(Escalation.raised_at)
    )

    def row(record: Any) -> Row:
        escalation, study_id, group, site, role = record
        waited = None
        if escalation.acknowledged_at is not None:
            waited = round((escalation.acknowledged_at - escalation.raised_at).total_seconds() / 60, 1)
        return {
            "study_id": study_id,
            "site": site,
            "group": group.value,
            "escalation_id": escalation.id,
            "raised_at": escalation.raised_at,
            "level": escalation.level.value,
            "reasons": ";".join(escalation.reasons),
            "acknowledged_at": escalation.acknowledged_at,
            "acknowledged_by_role": role.value if role else None,
            "minutes_to_acknowledge": waited,
            "outcome": escalation.status.value,
            "resolution_reason": escalation.resolution_reason,
        }

    return _site_filter(query, site_code), row


def _infections(site_code: str | None) -> tuple[Query, Callable[[Any], Row]]:
    first = select(func.min(Infection.id)).group_by(Infection.patient_id).scalar_subquery()
    query = (
        select(Infection, Patient.study_id, Patient.group, Site.code, Infection.id.in_(first))
        .join(Patient, Infection.patient_id == Patient.id)
        .join(Site, Patient.site_id == Site.id)
        .order_by(Patient.study_id, Infection.onset_date)
    )

    def row(record: Any) -> Row:
        infection, study_id, group, site, is_first = record
        return {
            "study_id": study_id,
            "site": site,
            "group": group.value,
            "onset_date": infection.onset_date,
            "site_type": infection.site_type.value,
            "pathogen": infection.pathogen.value,
            "organism": infection.organism,
            "ctcae_grade": infection.ctcae_grade,
            "treatment": infection.treatment.value,
            "hospitalized": infection.hospitalized,
            "outcome": infection.outcome.value,
            "source": infection.source.value,
            "first_infection": bool(is_first),
            "recorded_at": infection.recorded_at,
        }

    return _site_filter(query, site_code), row


SIMPLE = {
    "patients": _patients,
    "answers": _answers,
    "doses": _doses,
    "escalations": _escalations,
    "infections": _infections,
}


async def _stream(session: AsyncSession, query: Query, convert: Callable[[Any], Row]) -> AsyncIterator[list[Row]]:
    result = await session.stream(query.execution_options(yield_per=CHUNK))
    async for partition in result.partitions():
        yield [convert(record) for record in partition]


async def _stream_records(session: AsyncSession, query: Query) -> AsyncIterator[list[Any]]:
    result = await session.stream(query.execution_options(yield_per=CHUNK))
    async for partition in result.partitions():
        yield list(partition)


def _wide(rows: list[Any]) -> Row:
    """One submitted response (its answer rows) as one wide row with every codebook column."""
    study_id, site, group, response_id, form, month, submitted_at, level, reasons = rows[0][:9]
    answers = {item: value for *_head, item, value in rows if item is not None}
    wide: Row = {
        "study_id": study_id,
        "site": site,
        "group": group.value,
        "response_id": response_id,
        "form": form.value,
        "month": month,
        "submitted_at": submitted_at,
        "triage_level": level.value if level else None,
        "triage_reasons": ";".join(reasons or []),
    }
    for item in FORMS[FormKind.CHECKIN]:
        value = answers.get(item.id)
        if item.kind is Kind.MULTI:
            for code in item.options:
                wide[f"{column_prefix(item.id)}_{code}"] = None if value is None else int(code in value)
        elif item.kind is Kind.TEMPERATURE:
            wide[item.id] = float(value) if isinstance(value, int | float) else None
            wide[f"{item.id}_not_measured"] = None if value is None else int(value == "not_measured")
        else:
            wide[item.id] = value
    return wide


async def _checkins(session: AsyncSession, site_code: str | None) -> AsyncIterator[list[Row]]:
    query = (
        select(
            Patient.study_id,
            Site.code,
            Patient.group,
            QuestionnaireResponse.id,
            QuestionnaireResponse.form,
            ScheduledContact.month,
            QuestionnaireResponse.submitted_at,
            TriageDecision.level,
            TriageDecision.reasons,
            Answer.item_id,
            Answer.value,
        )
        .join(Patient, QuestionnaireResponse.patient_id == Patient.id)
        .join(Site, Patient.site_id == Site.id)
        .outerjoin(ScheduledContact, QuestionnaireResponse.contact_id == ScheduledContact.id)
        .outerjoin(TriageDecision, TriageDecision.response_id == QuestionnaireResponse.id)
        .outerjoin(Answer, Answer.response_id == QuestionnaireResponse.id)
        .where(QuestionnaireResponse.status == ResponseStatus.SUBMITTED)
        .order_by(QuestionnaireResponse.id, Answer.id)
    )
    pending: list[Any] = []
    async for chunk in _stream_records(session, _site_filter(query, site_code)):
        out = []
        for record in chunk:
            if pending and pending[0][3] != record[3]:
                out.append(_wide(pending))
                pending = []
            pending.append(record)
        if out:
            yield out
    if pending:
        yield [_wide(pending)]


async def stream_dataset(session: AsyncSession, *, dataset: str, site_code: str | None) -> AsyncIterator[list[Row]]:
    """The rows of one dataset, in chunks, with exactly the codebook's columns."""
    if dataset == "checkins":
        async for chunk in _checkins(session, site_code):
            yield chunk
        return
    query, convert = SIMPLE[dataset](site_code)
    async for chunk in _stream(session, query, convert):
        yield chunk


async def count_rows(session: AsyncSession, *, dataset: str, site_code: str | None) -> int:
    """An estimate for the progress bar (answer rows for the wide check-ins)."""
    query, _convert = (_answers if dataset == "checkins" else SIMPLE[dataset])(site_code)
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


assert set(DATASETS) == {*SIMPLE, "checkins"}
