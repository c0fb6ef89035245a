"""Who needs a call: patients in follow-up who missed their latest check-ins, cannot be reached, or never
linked Telegram although a check-in is already due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.escalation import UNRESOLVED
from models import ContactKind, ContactStatus, Escalation, Patient, PatientStatus, ScheduledContact, Site

IN_FOLLOW_UP = (PatientStatus.ENROLLED, PatientStatus.ACTIVE)


@dataclass(frozen=True)
class Overdue:
    study_id: str
    site: str
    last_checkin: date | None  # the latest submitted one (patient's local day)
    missed_in_a_row: int  # the latest closed check-ins that were missed
    next_due: date | None  # the next check-in still planned or open
    unreachable: bool
    never_linked: bool
    open_alerts: int


async def overdue_patients(session: AsyncSession, *, site_code: str | None, now: datetime) -> list[Overdue]:
    """Most missed first; then by study ID."""
    query = (
        select(Patient, Site.code)
        .join(Site, Patient.site_id == Site.id)
        .where(Patient.status.in_(IN_FOLLOW_UP))
        .order_by(Patient.study_id)
    )
    if site_code is not None:
        query = query.where(Site.code == site_code.upper())
    patients = (await session.execute(query)).all()
    ids = [patient.id for patient, _code in patients]
    checkins: dict[int, list[ScheduledContact]] = {}
    for row in await session.scalars(
        select(ScheduledContact)
        .where(ScheduledContact.patient_id.in_(ids), ScheduledContact.kind == ContactKind.CHECKIN)
        .order_by(ScheduledContact.patient_id, ScheduledContact.due_at)
    ):
        checkins.setdefault(row.patient_id, []).append(row)
    alerts = dict(
        (
            await session.execute(
                select(Escalation.patient_id, func.count())
                .where(Escalation.patient_id.in_(ids), Escalation.status.in_(UNRESOLVED))
                .group_by(Escalation.patient_id)
            )
        ).all()
    )
    found = []
    for patient, code in patients:
        rows = checkins.get(patient.id, [])
        zone = ZoneInfo(patient.timezone)
        closed = [row for row in rows if row.status in (ContactStatus.DONE, ContactStatus.MISSED)]
        missed = 0
        for row in reversed(closed):
            if row.status is not ContactStatus.MISSED:
                break
            missed += 1
        done = [row for row in closed if row.status is ContactStatus.DONE]
        ahead = [row for row in rows if row.status in (ContactStatus.PLANNED, ContactStatus.OPEN)]
        never_linked = patient.consented_at is None and any(row.due_at <= now for row in rows)
        if not (missed or patient.unreachable or never_linked):
            continue
        found.append(
            Overdue(
                study_id=patient.study_id,
                site=code,
                last_checkin=done[-1].answered_at.astimezone(zone).date() if done and done[-1].answered_at else None,
                missed_in_a_row=missed,
                next_due=ahead[0].due_at.astimezone(zone).date() if ahead else None,
                unreachable=patient.unreachable,
                never_linked=never_linked,
                open_alerts=int(alerts.get(patient.id, 0)),
            )
        )
    return sorted(found, key=lambda row: (-row.missed_in_a_row, row.study_id))
