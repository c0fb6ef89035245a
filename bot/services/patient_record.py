"""One patient's record as staff read it: contacts, answers with their triage, escalations, infections and the
audit trail. The reader's scope is decided here: another site's patient is None, like a missing one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.patient_corrections import Correction, corrections_in
from bot.services.status import sites_of
from models import (
    Answer,
    AuditEvent,
    ContactKind,
    Escalation,
    EscalationNotification,
    Infection,
    Patient,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    Site,
    Staff,
    TriageDecision,
)


@dataclass(frozen=True)
class AnsweredForm:
    response: QuestionnaireResponse
    answers: dict[str, Any]
    triage: TriageDecision | None


@dataclass(frozen=True)
class Notified:
    name: str
    stage: int
    notification: EscalationNotification


@dataclass(frozen=True)
class EscalationRecord:
    escalation: Escalation
    notified: list[Notified]
    acknowledged_by: str | None
    resolved_by: str | None


@dataclass(frozen=True)
class PatientRecord:
    patient: Patient
    site: Site
    checkins: list[ScheduledContact]
    doses: list[ScheduledContact]
    forms: list[AnsweredForm]  # newest first
    escalations: list[EscalationRecord]  # newest first
    infections: list[Infection]
    audit: list[AuditEvent]  # oldest first
    corrections: list[Correction]  # of answers and infections, oldest first


async def patient_record(session: AsyncSession, *, staff: Staff, patient_id: int) -> PatientRecord | None:
    patient = await session.get(Patient, patient_id)
    limited = sites_of(staff)
    if patient is None or not staff.active or (limited is not None and patient.site_id != limited):
        return None
    contacts = list(
        await session.scalars(
            select(ScheduledContact)
            .where(ScheduledContact.patient_id == patient.id)
            .order_by(ScheduledContact.due_at, ScheduledContact.id)
        )
    )
    responses = list(
        await session.scalars(
            select(QuestionnaireResponse)
            .where(
                QuestionnaireResponse.patient_id == patient.id, QuestionnaireResponse.status == ResponseStatus.SUBMITTED
            )
            .order_by(QuestionnaireResponse.submitted_at.desc(), QuestionnaireResponse.id.desc())
        )
    )
    escalations = list(
        await session.scalars(
            select(Escalation).where(Escalation.patient_id == patient.id).order_by(Escalation.raised_at.desc())
        )
    )
    infections = list(
        await session.scalars(
            select(Infection).where(Infection.patient_id == patient.id).order_by(Infection.onset_date)
        )
    )
    audit = await _audit(session, patient, responses, escalations, infections)
    return PatientRecord(
        patient=patient,
        site=await session.get_one(Site, patient.site_id),
        checkins=[contact for contact in contacts if contact.kind is ContactKind.CHECKIN],
        doses=[contact for contact in contacts if contact.kind is ContactKind.DOSE],
        forms=await _forms(session, responses),
        escalations=await _escalations(session, escalations),
        infections=infections,
        audit=audit,
        corrections=await corrections_in(session, audit),
    )


async def _forms(session: AsyncSession, responses: list[QuestionnaireResponse]) -> list[AnsweredForm]:
    ids = [response.id for response in responses]
    answers: dict[int, dict[str, Any]] = {}
    for answer in await session.scalars(select(Answer).where(Answer.response_id.in_(ids)).order_by(Answer.id)):
        answers.setdefault(answer.response_id, {})[answer.item_id] = answer.value
    triage = {
        decision.response_id: decision
        for decision in await session.scalars(select(TriageDecision).where(TriageDecision.response_id.in_(ids)))
    }
    return [AnsweredForm(response, answers.get(response.id, {}), triage.get(response.id)) for response in responses]


async def _escalations(session: AsyncSession, escalations: list[Escalation]) -> list[EscalationRecord]:
    ids = [escalation.id for escalation in escalations]
    notifications = list(
        await session.scalars(
            select(EscalationNotification)
            .where(EscalationNotification.escalation_id.in_(ids))
            .order_by(EscalationNotification.created_at, EscalationNotification.id)
        )
    )
    people = {notification.staff_id for notification in notifications}
    people |= {escalation.acknowledged_by for escalation in escalations if escalation.acknowledged_by}
    people |= {escalation.resolved_by for escalation in escalations if escalation.resolved_by}
    rows = await session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(people)))
    names: dict[int, str] = dict(rows.all())
    return [
        EscalationRecord(
            escalation=escalation,
            notified=[
                Notified(names.get(notification.staff_id, "?"), notification.stage, notification)
                for notification in notifications
                if notification.escalation_id == escalation.id
            ],
            acknowledged_by=names.get(escalation.acknowledged_by) if escalation.acknowledged_by else None,
            resolved_by=names.get(escalation.resolved_by) if escalation.resolved_by else None,
        )
        for escalation in escalations
    ]


async def _audit(
    session: AsyncSession,
    patient: Patient,
    responses: list[QuestionnaireResponse],
    escalations: list[Escalation],
    infections: list[Infection],
) -> list[AuditEvent]:
    """Every audited change to the patient and to their answers, escalations and infections."""
    answers = await session.scalars(
        select(Answer.id).where(Answer.response_id.in_([response.id for response in responses]))
    )
    owned = {
        "patients": [str(patient.id)],
        "questionnaire_responses": [str(response.id) for response in responses],
        "answers": [str(answer_id) for answer_id in answers],
        "escalations": [str(escalation.id) for escalation in escalations],
        "infections": [str(infection.id) for infection in infections],
    }
    conditions = [
        and_(AuditEvent.entity_type == kind, AuditEvent.entity_id.in_(ids)) for kind, ids in owned.items() if ids
    ]
    return list(await session.scalars(select(AuditEvent).where(or_(*conditions)).order_by(AuditEvent.id)))
