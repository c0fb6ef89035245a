"""Changes to a written plan: moving future doses, a new reminder time, more IL-2 cycles. Rows are updated or
added, never rewritten."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.plan import contact_window, dose_contacts, monthly_anniversary
from bot.protocol import StudyProtocol
from bot.services.audit import record_event
from bot.services.errors import DomainError
from bot.services.follow_up import NO_CONTACT_STATUSES
from models import ContactKind, ContactStatus, Group, Patient, ScheduledContact


async def _future_planned(
    session: AsyncSession, *, patient: Patient, now: datetime, kind: ContactKind | None = None
) -> list[ScheduledContact]:
    query = select(ScheduledContact).where(
        ScheduledContact.patient_id == patient.id,
        ScheduledContact.status == ContactStatus.PLANNED,
        ScheduledContact.due_at > now,
    )
    if kind is not None:
        query = query.where(ScheduledContact.kind == kind)
    return list((await session.scalars(query.order_by(ScheduledContact.due_at))).all())


def _retime(row: ScheduledContact, *, patient: Patient, protocol: StudyProtocol) -> None:
    due_at, window_end = contact_window(
        kind=row.kind,
        day=row.planned_date,
        reminder_time=patient.reminder_time,
        zone=ZoneInfo(patient.timezone),
        missed_after_days=protocol.checkin_plan.missed_after_days,
    )
    row.due_at, row.window_end, row.next_action_at = due_at, window_end, due_at


def _refuse_if_ended(patient: Patient) -> None:
    if patient.status in NO_CONTACT_STATUSES:
        raise DomainError(f"{patient.study_id}: follow-up has ended ({patient.status.value})")


async def shift_doses(
    session: AsyncSession, *, patient: Patient, days: int, protocol: StudyProtocol, actor: str, now: datetime
) -> int:
    """Move every future dose reminder by `days` days in the patient's zone; returns how many moved."""
    if patient.group is not Group.IL2:
        raise DomainError(f"{patient.study_id} is in the control group and has no doses")
    _refuse_if_ended(patient)
    if days == 0 or abs(days) > 365:
        raise DomainError("days: give a non-zero number of days, at most 365 either way")
    doses = await _future_planned(session, patient=patient, now=now, kind=ContactKind.DOSE)
    if not doses:
        raise DomainError(f"{patient.study_id} has no future doses to move")
    first_before = doses[0].planned_date
    for row in doses:
        row.planned_date += timedelta(days=days)
        _retime(row, patient=patient, protocol=protocol)
    if doses[0].due_at <= now:
        raise DomainError(f"days: the next dose would move to {doses[0].planned_date}, which is already past")
    record_event(
        session,
        actor=actor,
        action="patient.shift_doses",
        entity=patient,
        at=now,
        before={"next_dose": first_before.isoformat()},
        after={"next_dose": doses[0].planned_date.isoformat(), "days": days, "doses_moved": len(doses)},
    )
    await session.commit()
    return len(doses)


async def change_reminder_time(
    session: AsyncSession,
    *,
    patient: Patient,
    reminder_time: time,
    protocol: StudyProtocol,
    actor: str,
    now: datetime,
) -> int:
    """Set the patient's reminder time and re-time every future contact. Returns how many were re-timed."""
    _refuse_if_ended(patient)
    before = patient.reminder_time
    patient.reminder_time = reminder_time
    rows = await _future_planned(session, patient=patient, now=now)
    for row in rows:
        _retime(row, patient=patient, protocol=protocol)
    record_event(
        session,
        actor=actor,
        action="patient.reminder_time",
        entity=patient,
        at=now,
        before={"reminder_time": before.isoformat()},
        after={"reminder_time": reminder_time.isoformat(), "contacts_retimed": len(rows)},
    )
    await session.commit()
    return len(rows)


MAX_ADDED_CYCLES = 20


async def add_cycles(
    session: AsyncSession, *, patient: Patient, cycles: int, protocol: StudyProtocol, actor: str, now: datetime
) -> list[ScheduledContact]:
    """Plan `cycles` more IL-2 cycles after the last planned one (the regimen is "at least 3 cycles").

    They follow the regimen's rhythm: the first starts one cycle length after the last planned cycle's start,
    or tomorrow (the patient's day) when that has passed. Doses after the end of follow-up are left out.
    Returns the new dose rows."""
    if patient.group is not Group.IL2 or patient.il2_start is None:
        raise DomainError(f"{patient.study_id} is in the control group and has no doses")
    _refuse_if_ended(patient)
    if not 1 <= cycles <= MAX_ADDED_CYCLES:
        raise DomainError(f"cycles: give a number from 1 to {MAX_ADDED_CYCLES}")
    regimen = protocol.dose_regimen
    last = await session.scalar(
        select(ScheduledContact)
        .where(ScheduledContact.patient_id == patient.id, ScheduledContact.kind == ContactKind.DOSE)
        .order_by(ScheduledContact.cycle.desc(), ScheduledContact.dose_number)
        .limit(1)
    )
    last_cycle = last.cycle if last is not None and last.cycle is not None else 0
    last_start = (
        last.planned_date - timedelta(days=regimen.dose_days[(last.dose_number or 1) - 1])
        if last is not None
        else patient.il2_start - timedelta(days=regimen.cycle_days)
    )
    zone = ZoneInfo(patient.timezone)
    start = max(last_start + timedelta(days=regimen.cycle_days), now.astimezone(zone).date() + timedelta(days=1))
    end = monthly_anniversary(patient.baseline_date, protocol.follow_up_end.after_months)
    planned = dose_contacts(
        il2_start=start,
        first_day=start,
        last_day=end,
        reminder_time=patient.reminder_time,
        zone=zone,
        regimen=regimen.model_copy(update={"cycles": cycles}),
    )
    if not planned:
        raise DomainError(f"cycles: a cycle starting {start} would begin after the end of follow-up ({end})")
    rows = [
        ScheduledContact(
            patient_id=patient.id,
            kind=ContactKind.DOSE,
            cycle=last_cycle + (contact.cycle or 0),
            dose_number=contact.dose_number,
            planned_date=contact.planned_date,
            due_at=contact.due_at,
            window_end=contact.window_end,
            status=ContactStatus.PLANNED,
            next_action_at=contact.due_at,
            dedupe_key=replace(contact, cycle=last_cycle + (contact.cycle or 0)).dedupe_key(patient.id),
        )
        for contact in planned
    ]
    session.add_all(rows)
    record_event(
        session,
        actor=actor,
        action="patient.add_cycles",
        entity=patient,
        at=now,
        before={"cycles": last_cycle},
        after={
            "cycles": last_cycle + max(contact.cycle or 0 for contact in planned),
            "first_dose": rows[0].planned_date.isoformat(),
            "doses_added": len(rows),
        },
    )
    await session.commit()
    return rows
