"""Open alerts as the console lists them: `escalation.open_for` (the same scope as /alerts) with the names
of who acknowledged, and the actions the reader may take."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.escalation import may_acknowledge, open_for
from models import Escalation, Patient, Site, Staff


@dataclass(frozen=True)
class OpenAlert:
    escalation: Escalation
    patient: Patient
    site: Site
    acknowledged_by: Staff | None
    may_act: bool  # acknowledge and resolve


async def open_alerts(session: AsyncSession, *, staff: Staff) -> list[OpenAlert]:
    """Unresolved alerts the reader may see, most severe and oldest first."""
    rows = await open_for(session, staff=staff)
    people = {escalation.acknowledged_by for escalation, _patient in rows if escalation.acknowledged_by}
    named = {member.id: member for member in await session.scalars(select(Staff).where(Staff.id.in_(people)))}
    sites = {site.id: site for site in await session.scalars(select(Site))}
    return [
        OpenAlert(
            escalation=escalation,
            patient=patient,
            site=sites[escalation.site_id],
            acknowledged_by=named.get(escalation.acknowledged_by or 0),
            may_act=may_acknowledge(staff, escalation),
        )
        for escalation, patient in rows
    ]
