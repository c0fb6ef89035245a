"""The group comparison report from the console. It compares the groups over the whole study, so only admins
(whose scope is every site) may produce it; a site-limited report needs `report.load_study` to take a site."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.protocol import StudyProtocol
from bot.services.console_enrollment import NotAllowed
from bot.services.errors import DomainError
from bot.services.report import StudyData, load_study
from bot.services.status import sites_of
from models import Staff


def may_report(staff: Staff) -> bool:
    return staff.active and sites_of(staff) is None


async def report_data(session: AsyncSession, *, staff: Staff, protocol: StudyProtocol, cutoff: date) -> StudyData:
    if not may_report(staff):
        raise NotAllowed("only admins produce the study-wide comparison report")
    data = await load_study(session, protocol=protocol, cutoff=cutoff)
    if data.patients.empty:
        raise DomainError("no patients to report on before the cut-off")
    return data
