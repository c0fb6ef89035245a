"""`patients update`: a patient's baseline, group, IL-2 start, language or reminder time corrected with a reason.
A new baseline, group, IL-2 start or reminder time re-plans the contacts still ahead; what is past stays as it was."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.plan import monthly_anniversary
from bot.protocol import StudyProtocol
from bot.services.audit import audited
from bot.services.enrollment import contact_row, planned_contacts
from bot.services.errors import DomainError, language_or_error
from bot.services.follow_up import NO_CONTACT_STATUSES
from bot.services.staff_changes import reason_or_error
from models import ContactStatus, Group, Patient, QuestionnaireResponse, ScheduledContact


async def update_patient(
    session: AsyncSession,
    *,
    patient: Patient,
    baseline: date | None,
    group: Group | None,
    language: str | None,
    reminder_time: time | None,
    reason: str,
    protocol: StudyProtocol,
    actor: str,
    now: datetime,
    il2_start: date | None = None,
) -> int:
    """Apply the changes given; returns how many future contacts were planned anew. Commits.

    Switching to il2 needs the IL-2 start (`il2_start`), from which doses are planned; switching to control drops
    the doses still ahead. `il2_start` alone moves an il2 patient's doses still ahead."""
    if baseline is None and group is None and language is None and reminder_time is None and il2_start is None:
        raise DomainError("nothing to change: give --baseline, --group, --il2-start, --language or --reminder-time")
    reason = reason_or_error(reason)
    if language is not None:
        language = language_or_error(language, field="--language")
    new_group = group or patient.group
    _check_il2_start(patient=patient, new_group=new_group, il2_start=il2_start, baseline=baseline, protocol=protocol)
    replan = baseline is not None or group is not None or reminder_time is not None or il2_start is not None
    if replan and patient.status in NO_CONTACT_STATUSES:
        raise DomainError(f"{patient.study_id}: follow-up has ended ({patient.status.value}); nothing to re-plan")
    with audited(session, entity=patient, actor=actor, action="patient.update", at=now) as notes:
        patient.baseline_date = baseline or patient.baseline_date
        patient.group = new_group
        if new_group is Group.CONTROL:
            patient.il2_start = None
        elif il2_start is not None:
            patient.il2_start = il2_start
        elif baseline is not None:
            patient.il2_start = max(patient.il2_start or baseline, baseline)
        patient.language = language or patient.language
        patient.reminder_time = reminder_time or patient.reminder_time
        notes["reason"] = reason
        if replan:
            notes["contacts_replanned"] = await _replan_future(session, patient=patient, protocol=protocol, now=now)
    await session.commit()
    return int(notes.get("contacts_replanned", 0))


def _check_il2_start(
    *, patient: Patient, new_group: Group, il2_start: date | None, baseline: date | None, protocol: StudyProtocol
) -> None:
    """IL-2 doses are planned from a start date the coordinator gives, never guessed from the baseline."""
    if new_group is Group.IL2 and patient.group is not Group.IL2 and il2_start is None:
        raise DomainError("--il2-start: give the date of the first IL-2 dose when switching to il2")
    if il2_start is None:
        return
    if new_group is not Group.IL2:
        raise DomainError("--il2-start: only for the il2 group")
    end = monthly_anniversary(baseline or patient.baseline_date, protocol.follow_up_end.after_months)
    if il2_start > end:
        raise DomainError(f"--il2-start: {il2_start} is after the end of follow-up ({end})")


async def _replan_future(session: AsyncSession, *, patient: Patient, protocol: StudyProtocol, now: datetime) -> int:
    """Drop the rows not yet sent and due later; add the new plan's rows still ahead whose key is free
    (a contact that already happened keeps its row)."""
    await session.execute(
        delete(ScheduledContact).where(
            ScheduledContact.patient_id == patient.id,
            ScheduledContact.status == ContactStatus.PLANNED,
            ScheduledContact.due_at > now,
            ~exists().where(QuestionnaireResponse.contact_id == ScheduledContact.id),
        )
    )
    taken = set(
        await session.scalars(select(ScheduledContact.dedupe_key).where(ScheduledContact.patient_id == patient.id))
    )
    ahead = [
        contact
        for contact in planned_contacts(patient=patient, protocol=protocol)
        if contact.due_at > now and contact.dedupe_key(patient.id) not in taken
    ]
    session.add_all(contact_row(patient=patient, contact=contact) for contact in ahead)
    return len(ahead)
