"""Follow-up at a glance, per site, for coordinators (their site) and admins (every site)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.roles import STUDY_DATA_ROLES
from bot.services.escalation import UNRESOLVED
from models import (
    ContactKind,
    ContactStatus,
    Escalation,
    Patient,
    PatientStatus,
    ScheduledContact,
    Site,
    Staff,
    StaffRole,
)

DOSE_CLOSED = (ContactStatus.TAKEN, ContactStatus.SKIPPED, ContactStatus.UNCONFIRMED, ContactStatus.MISSED)


@dataclass(frozen=True)
class SiteStatus:
    site: str
    active: int
    due_today: int
    overdue: int
    missed: int
    unreachable: int
    open_escalations: int
    doses_confirmed: int
    doses_closed: int

    @property
    def dose_confirmation_rate(self) -> float | None:
        return self.doses_confirmed / self.doses_closed if self.doses_closed else None


def may_see_study_data(staff: Staff) -> bool:
    return staff.active and staff.role in STUDY_DATA_ROLES


def sites_of(staff: Staff) -> int | None:
    """The site a staff member is limited to; None for admins (all sites)."""
    return None if staff.role is StaffRole.ADMIN else staff.site_id


async def site_status(session: AsyncSession, *, staff: Staff, now: datetime) -> list[SiteStatus]:
    query = select(Site).order_by(Site.code)
    if (limited := sites_of(staff)) is not None:
        query = query.where(Site.id == limited)
    return [await _one(session, site, now) for site in (await session.scalars(query)).all()]


async def _count(session: AsyncSession, *conditions: object, model: type = ScheduledContact) -> int:
    query = select(func.count()).select_from(model)
    if model is ScheduledContact:
        query = query.join(Patient, ScheduledContact.patient_id == Patient.id)
    return int(await session.scalar(query.where(*conditions)) or 0)  # type: ignore[arg-type]


async def _one(session: AsyncSession, site: Site, now: datetime) -> SiteStatus:
    today = now.astimezone(ZoneInfo(site.timezone)).date()
    at_site = Patient.site_id == site.id
    checkin = ScheduledContact.kind == ContactKind.CHECKIN
    dose = ScheduledContact.kind == ContactKind.DOSE
    return SiteStatus(
        site=site.code,
        active=await _count(session, at_site, Patient.status == PatientStatus.ACTIVE, model=Patient),
        due_today=await _count(
            session,
            at_site,
            checkin,
            ScheduledContact.planned_date == today,
            ScheduledContact.status.in_((ContactStatus.PLANNED, ContactStatus.OPEN)),
        ),
        overdue=await _count(
            session,
            at_site,
            checkin,
            ScheduledContact.status == ContactStatus.OPEN,
            ScheduledContact.planned_date < today,
        ),
        missed=await _count(session, at_site, checkin, ScheduledContact.status == ContactStatus.MISSED),
        unreachable=await _count(
            session,
            at_site,
            Patient.unreachable.is_(True),
            Patient.status == PatientStatus.ACTIVE,
            model=Patient,
        ),
        open_escalations=await _count(
            session, Escalation.site_id == site.id, Escalation.status.in_(UNRESOLVED), model=Escalation
        ),
        doses_confirmed=await _count(session, at_site, dose, ScheduledContact.status == ContactStatus.TAKEN),
        doses_closed=await _count(session, at_site, dose, ScheduledContact.status.in_(DOSE_CLOSED)),
    )
