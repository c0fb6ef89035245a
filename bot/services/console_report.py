"""The group comparison report from the console, for the user's scope: an admin's covers the whole study, anyone
else's their own site (the CLI's `followup report` stays study-wide)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.protocol import StudyProtocol
from bot.services.console_enrollment import NotAllowed
from bot.services.errors import DomainError
from bot.services.report import StudyData, load_study
from bot.services.status import sites_of
from models import Site, Staff


def may_report(staff: Staff) -> bool:
    return staff.active


async def report_site(session: AsyncSession, *, staff: Staff) -> Site | None:
    """The one site the staff member's report covers; None for the whole study (admins)."""
    limited = sites_of(staff)
    return None if limited is None else await session.get_one(Site, limited)


async def report_data(session: AsyncSession, *, staff: Staff, protocol: StudyProtocol, cutoff: date) -> StudyData:
    if not may_report(staff):
        raise NotAllowed("only active staff produce the comparison report")
    data = await load_study(session, protocol=protocol, cutoff=cutoff, site_id=sites_of(staff))
    if data.patients.empty:
        raise DomainError(N_("no patients to report on before the cut-off"))
    return data
