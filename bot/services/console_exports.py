"""Exports from the console: whose data a staff member may download, and the audit of each download
(as `/export` in Telegram records it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import record_event
from bot.services.console_enrollment import NotAllowed
from bot.services.errors import NotFound
from bot.services.status import may_see_study_data, sites_of
from models import Site, Staff


async def export_sites(session: AsyncSession, *, staff: Staff) -> list[str]:
    """The site codes this staff member may export (none unless coordinator or admin)."""
    if not may_see_study_data(staff):
        return []
    query = select(Site.code).order_by(Site.code)
    if (limited := sites_of(staff)) is not None:
        query = query.where(Site.id == limited)
    return list(await session.scalars(query))


async def export_scope(session: AsyncSession, *, staff: Staff, site_code: str | None) -> str | None:
    """The site to export (None: every site, for admins only). A coordinator always gets their own site."""
    if not may_see_study_data(staff):
        raise NotAllowed("only coordinators and admins export data")
    allowed = await export_sites(session, staff=staff)
    if sites_of(staff) is not None:
        return allowed[0]
    if not site_code:
        return None
    if site_code not in allowed:
        raise NotFound(f"no site {site_code!r}")
    return site_code


async def audit_export(
    session: AsyncSession, *, staff: Staff, site_code: str | None, fmt: str, size: int, now: datetime
) -> None:
    record_event(
        session,
        actor=f"staff:{staff.id}",
        action="export",
        entity=staff,
        at=now,
        after={"site": site_code or "all", "format": fmt, "bytes": size, "via": "web"},
    )
    await session.commit()
