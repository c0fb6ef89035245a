"""The `deviations` export: what did not go as the protocol planned, each with its date (late and missed
check-ins, doses skipped or unconfirmed, schedule changes, IL-2 reported by a control patient, consent pending,
consent to a new consent version asked for)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Date, Integer, String, case, cast, func, literal, select, type_coerce, union_all

from bot.i18n import N_
from models import (
    Answer,
    AuditEvent,
    ContactKind,
    ContactStatus,
    Group,
    Patient,
    PatientStatus,
    QuestionnaireResponse,
    ScheduledContact,
    Site,
)

RECONSENT_ASKED = "patient.reconsent_asked"  # audited when a patient is first asked to agree to a new version
KINDS = {  # for the codebook: code -> label msgid
    "checkin_late": N_("check-in submitted after its window closed"),
    "checkin_missed": N_("check-in missed"),
    "dose_skipped": N_("IL-2 dose skipped"),
    "dose_unconfirmed": N_("IL-2 dose not confirmed"),
    "schedule_changed": N_("doses shifted or plan changed"),
    "control_reports_il2": N_("control patient reported an IL-2 reaction"),
    "consent_pending": N_("baseline passed, consent not given in Telegram"),
    "reconsent_pending": N_("asked to agree to a new consent version: nothing collected until agreed"),
}


def event_patient_id() -> Any:
    """The patient an audit event is about, as a number the patients' primary key can look up (a join on the
    text form would compare every event with every patient); NULL for events on other records."""
    return case(
        (AuditEvent.entity_type == Patient.__tablename__, cast(func.nullif(AuditEvent.entity_id, ""), Integer)),
        else_=None,
    )


def _day(column: Any) -> Any:
    return type_coerce(func.date(column), Date())


def _text(value: Any) -> Any:
    return cast(value, String)


def deviations_query(site_code: str | None) -> tuple[Any, Callable[[Any], Any]]:
    at_site = (Patient.site_id == Site.id,)
    contact = (
        select(Patient.study_id, Site.code)
        .join(Site, *at_site)
        .join(ScheduledContact, ScheduledContact.patient_id == Patient.id)
    )
    parts = [
        select(Patient.study_id, Site.code, literal("checkin_late"), _day(QuestionnaireResponse.submitted_at),
               literal("month ") + _text(ScheduledContact.month))
        .join(Site, *at_site)
        .join(QuestionnaireResponse, QuestionnaireResponse.patient_id == Patient.id)
        .join(ScheduledContact, QuestionnaireResponse.contact_id == ScheduledContact.id)
        .where(QuestionnaireResponse.late.is_(True)),
        contact.add_columns(literal("checkin_missed"), ScheduledContact.planned_date,
                            literal("month ") + _text(ScheduledContact.month))
        .where(ScheduledContact.kind == ContactKind.CHECKIN, ScheduledContact.status == ContactStatus.MISSED),
        *(
            contact.add_columns(literal(kind), ScheduledContact.planned_date,
                                literal("cycle ") + _text(ScheduledContact.cycle) + literal(" dose ")
                                + _text(ScheduledContact.dose_number))
            .where(ScheduledContact.kind == ContactKind.DOSE, ScheduledContact.status.in_(statuses))
            for kind, statuses in (
                ("dose_skipped", (ContactStatus.SKIPPED,)),
                ("dose_unconfirmed", (ContactStatus.UNCONFIRMED, ContactStatus.MISSED)),
            )
        ),
        select(Patient.study_id, Site.code, literal("schedule_changed"), _day(AuditEvent.occurred_at),
               AuditEvent.action)
        .join(Site, *at_site)
        .join(AuditEvent, Patient.id == event_patient_id())
        .where(AuditEvent.action.in_(("patient.shift_doses", "patient.update"))),
        select(Patient.study_id, Site.code, literal("control_reports_il2"), _day(QuestionnaireResponse.submitted_at),
               _text(Answer.value))
        .join(Site, *at_site)
        .join(QuestionnaireResponse, QuestionnaireResponse.patient_id == Patient.id)
        .join(Answer, Answer.response_id == QuestionnaireResponse.id)
        .where(Patient.group == Group.CONTROL, Answer.item_id == "il2_reaction",
               _text(Answer.value).not_like('%"none"%')),
        select(Patient.study_id, Site.code, literal("consent_pending"), Patient.baseline_date, literal(""))
        .join(Site, *at_site)
        .where(Patient.status == PatientStatus.ENROLLED, Patient.consented_at.is_(None)),
        select(Patient.study_id, Site.code, literal("reconsent_pending"), _day(AuditEvent.occurred_at),
               _text(AuditEvent.after))
        .join(Site, *at_site)
        .join(AuditEvent, Patient.id == event_patient_id())
        .where(AuditEvent.action == RECONSENT_ASKED),
    ]  # fmt: skip
    if site_code is not None:
        parts = [part.where(Site.code == site_code.upper()) for part in parts]
    union = union_all(*parts).subquery()
    columns = list(union.c)
    query = select(*columns).order_by(columns[0], columns[3], columns[2])
    return query, lambda record: (*record[:4], record[4] or None)
