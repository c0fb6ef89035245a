"""Export datasets as streams of row chunks (bounded memory on a large study). Keyed by study ID only:
the Telegram id never leaves the database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeAlias

from sqlalchemy import Select, String, Text, cast, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from bot.forms import EXPORTED, Kind
from bot.infection_fields import INFECTION_FIELDS, InfectionField
from bot.services.codebook import DATASETS
from bot.services.deviations import deviations_query, event_patient_id
from models import (
    Answer,
    AuditEvent,
    ContactKind,
    Escalation,
    Infection,
    Patient,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    Site,
    Staff,
    TriageDecision,
)

Row = Sequence[Any]  # one record, in the codebook's column order
Query: TypeAlias = Select[*tuple[Any, ...]]
CHUNK = 20_000


def _site_filter(query: Query, site_code: str | None) -> Query:
    return query if site_code is None else query.where(Site.code == site_code.upper())


def code(column: Any) -> ColumnElement[str]:
    """An enum column as the code stored in the database (no conversion to the Python enum and back)."""
    return type_coerce(column, String())


def instant(column: Any) -> ColumnElement[str]:
    """A UTC timestamp as the driver gives it (text on SQLite), parsed later a whole column at a time by pandas."""
    return type_coerce(column, String())


def json_text(column: Any) -> ColumnElement[str]:
    """A JSON column as its text: answers come from a small vocabulary, so each distinct text is decoded once."""
    return cast(column, Text)


class Decoded:
    """JSON texts decoded once each (read-only values: nothing here is changed after decoding)."""

    def __init__(self) -> None:
        self._seen: dict[str | None, Any] = {None: None}

    def __call__(self, text: str | None) -> Any:
        if text not in self._seen:
            self._seen[text] = json.loads(text)  # type: ignore[arg-type]
        return self._seen[text]


def _joined(value: Any) -> Any:
    return ";".join(str(part) for part in value) if isinstance(value, list) else value


def _as_is(record: Row) -> Row:
    """A row selected in the codebook's column order."""
    return record


def _patients(site_code: str | None) -> tuple[Query, Callable[[Any], Row]]:
    query = (
        select(
            Patient.study_id,
            Site.code,
            code(Patient.group),
            code(Patient.status),
            Patient.baseline_date,
            Patient.il2_start,
            code(Patient.language),
            Patient.timezone,
            instant(Patient.consented_at),
            Patient.consent_version,
            Patient.consent_language,
            Patient.consent_text_sha256,
            Patient.unreachable,
            instant(Patient.ended_at),
            Patient.end_reason,
            Patient.died_on,
            Patient.preventive_medicines,
        )
        .join(Site, Patient.site_id == Site.id)
        .order_by(Patient.study_id)
    )
    return _site_filter(query, site_code), _with_medicines_joined


def _with_medicines_joined(record: Row) -> Row:
    """The last column (preventive medicines, a list) as "tmp_smx;entecavir"."""
    *head, medicines = record
    return (*head, _joined(medicines or []))


def _answers(site_code: str | None) -> tuple[Query, Callable[[Any], Row]]:
    query = (
        select(
            Patient.study_id,
            QuestionnaireResponse.id,
            code(QuestionnaireResponse.form),
            code(QuestionnaireResponse.status),
            Answer.item_id,
            json_text(Answer.value),
            instant(Answer.answered_at),
            Answer.corrected,
            Answer.typed,
        )
        .join(QuestionnaireResponse, Answer.response_id == QuestionnaireResponse.id)
        .join(Patient, QuestionnaireResponse.patient_id == Patient.id)
        .join(Site, Patient.site_id == Site.id)
        .order_by(QuestionnaireResponse.id, Answer.id)
    )

    decoded = Decoded()

    def row(record: Any) -> Row:
        study_id, response_id, form, status, item, text, answered_at, corrected, typed = record
        value = None if (decoded_value := decoded(text)) is None else str(_joined(decoded_value))
        return (study_id, response_id, form, status, item, value, typed, answered_at, corrected)

    return _site_filter(query, site_code), row


def _doses(site_code: str | None) -> tuple[Query, Callable[[Any], Row]]:
    query = (
        select(
            Patient.study_id,
            Site.code,
            ScheduledContact.cycle,
            ScheduledContact.dose_number,
            ScheduledContact.planned_date,
            code(ScheduledContact.status),
            instant(ScheduledContact.answered_at),
            ScheduledContact.reminders_sent,
            ScheduledContact.snoozes,
        )
        .join(Patient, ScheduledContact.patient_id == Patient.id)
        .join(Site, Patient.site_id == Site.id)
        .where(ScheduledContact.kind == ContactKind.DOSE)
        .order_by(Patient.study_id, ScheduledContact.due_at)
    )
    return _site_filter(query, site_code), _as_is


def _escalations(site_code: str | None) -> tuple[Query, Callable[[Any], Row]]:
    acknowledger = aliased(Staff)
    query = (
        select(
            Patient.study_id,
            Site.code,
            code(Patient.group),
            Escalation.id,
            Escalation.raised_at,
            Escalation.level_raised_at,
            code(Escalation.level),
            Escalation.reasons,
            Escalation.acknowledged_at,
            code(acknowledger.role),
            code(Escalation.status),
            code(Escalation.dismissal_code),
            Escalation.resolution_reason,
        )
        .join(Patient, Escalation.patient_id == Patient.id)
        .join(Site, Escalation.site_id == Site.id)
        .outerjoin(acknowledger, Escalation.acknowledged_by == acknowledger.id)
        .order_by(Escalation.raised_at)
    )

    def row(record: Any) -> Row:
        study_id, site, group, number, raised_at, restarted_at, level, reasons, acknowledged_at, role, outcome = record[
            :11
        ]
        dismissal_code, why = record[11:]
        waited = None
        if acknowledged_at is not None:
            waited = round((acknowledged_at - raised_at).total_seconds() / 60, 1)
        return (
            study_id,
            site,
            group,
            number,
            raised_at,
            restarted_at,
            level,
            ";".join(reasons),
            acknowledged_at,
            role,
            waited,
            outcome,
            dismissal_code,
            why,
        )

    return _site_filter(query, site_code), row


def first_infections() -> Any:
    """Each patient's first confirmed infection: the earliest onset (then the earliest entry), void ones not
    counted. The report's person-time ends at the same one."""
    ranked = (
        select(
            Infection.id,
            func.row_number()
            .over(partition_by=Infection.patient_id, order_by=(Infection.onset_date, Infection.id))
            .label("rank"),
        )
        .where(Infection.voided_at.is_(None))
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.rank == 1).scalar_subquery()


def _infection_field(spec: InfectionField) -> Any:
    """A field of the infection table as the export selects it (codes as stored, the treatments' JSON as text)."""
    column = getattr(Infection, spec.name)
    return json_text(column) if spec.many else code(column) if spec.enum_type else column


def _infections(site_code: str | None) -> tuple[Query, Callable[[Any], Row]]:
    selected = {
        "infection_id": Infection.id,
        "study_id": Patient.study_id,
        "site": Site.code,
        "group": code(Patient.group),
        **{spec.column: _infection_field(spec) for spec in INFECTION_FIELDS},
        "ctcae_version": Infection.ctcae_version,
        "source": code(Infection.source),
        "first_infection": Infection.id.in_(first_infections()),
        "recorded_at": instant(Infection.recorded_at),
        "corrected": Infection.corrected,
        "voided_at": instant(Infection.voided_at),
        "void_reason": Infection.void_reason,
    }
    names = [column.name for column in DATASETS["infections"]]
    query = (
        select(*(selected[name] for name in names))
        .join(Patient, Infection.patient_id == Patient.id)
        .join(Site, Patient.site_id == Site.id)
        .order_by(Patient.study_id, Infection.onset_date, Infection.id)
    )
    lists = [names.index(spec.column) for spec in INFECTION_FIELDS if spec.many]
    first = names.index("first_infection")

    def row(record: Any) -> Row:
        values = list(record)
        for index in lists:
            values[index] = ";".join(json.loads(values[index]))  # codes, ; separated
        values[first] = bool(values[first])
        return values

    return _site_filter(query, site_code), row


PRIVATE_KEYS = ("telegram_chat_id", "telegram_user_id")


def _audit(site_code: str | None) -> tuple[Query, Callable[[Any], Row]]:
    """The audit trail (who, when, what, before, after, reason); with a site, the events on its patients."""
    patient = Patient.id == event_patient_id()
    query = (
        select(
            instant(AuditEvent.occurred_at),
            AuditEvent.actor,
            AuditEvent.action,
            AuditEvent.entity_type,
            AuditEvent.entity_id,
            Patient.study_id,
            json_text(AuditEvent.before),
            json_text(AuditEvent.after),
        )
        .outerjoin(Patient, patient)
        .order_by(AuditEvent.id)
    )
    if site_code is not None:
        query = query.join(Site, Patient.site_id == Site.id).where(Site.code == site_code.upper())

    def plain(text: str | None) -> dict[str, Any] | None:
        values = json.loads(text) if text else None
        return {key: value for key, value in values.items() if key not in PRIVATE_KEYS} if values else values

    def row(record: Any) -> Row:
        *who, before_text, after_text = record
        before, after = plain(before_text), plain(after_text)
        reason = after.get("reason") if after else None
        as_text = [None if values is None else json.dumps(values, ensure_ascii=False) for values in (before, after)]
        return (*who, *as_text, reason)

    return query, row


SIMPLE = {
    "patients": _patients,
    "answers": _answers,
    "doses": _doses,
    "escalations": _escalations,
    "infections": _infections,
    "audit": _audit,
    "deviations": deviations_query,
}


async def _stream(session: AsyncSession, query: Query, convert: Callable[[Any], Row]) -> AsyncIterator[list[Row]]:
    """Rows through SQLAlchemy Core (no ORM bookkeeping per row), fetched a chunk at a time."""
    connection = await session.connection()
    result = await connection.stream(query.execution_options(yield_per=CHUNK))
    async for partition in result.partitions():
        yield [convert(record) for record in partition]


def _wide(rows: list[Any], decoded: Decoded) -> Row:
    """One submitted response (its answer rows) as one wide row with every codebook column, in its order."""
    study_id, site, group, response_id, form, month, submitted_at, late, partial, level, reasons = rows[0][:11]
    answers = {item: decoded(text) for *_head, item, text in rows if item is not None}
    wide = [study_id, site, group, response_id, form, month, submitted_at, bool(late), bool(partial), level]
    wide.append(";".join(decoded(reasons) or []))
    for item in EXPORTED:
        value = answers.get(item.id)
        if item.kind is Kind.MULTI:
            wide += [None if value is None else int(option in value) for option in item.options]
        elif item.kind is Kind.TEMPERATURE:
            wide += [float(value) if isinstance(value, int | float) else None]
            wide += [None if value is None else int(value == "not_measured")]
        else:
            wide.append(value)
    return wide


async def _checkins(session: AsyncSession, site_code: str | None) -> AsyncIterator[list[Row]]:
    query = (
        select(
            Patient.study_id,
            Site.code,
            code(Patient.group),
            QuestionnaireResponse.id,
            code(QuestionnaireResponse.form),
            ScheduledContact.month,
            instant(QuestionnaireResponse.submitted_at),
            QuestionnaireResponse.late,
            QuestionnaireResponse.partial,
            code(TriageDecision.level),
            json_text(TriageDecision.reasons),
            Answer.item_id,
            json_text(Answer.value),
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
    decoded = Decoded()
    async for chunk in _stream(session, _site_filter(query, site_code), _as_is):
        out = []
        for record in chunk:
            if pending and pending[0][3] != record[3]:
                out.append(_wide(pending, decoded))
                pending = []
            pending.append(record)
        if out:
            yield out
    if pending:
        yield [_wide(pending, decoded)]


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
