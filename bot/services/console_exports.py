"""Exports by staff, from the console or Telegram's /export: whose data a staff member may download, and the
audit of each download."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.exports.registry import csv_zip
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
    session: AsyncSession, *, staff: Staff, site_code: str | None, fmt: str, size: int, now: datetime, via: str
) -> None:
    record_event(
        session,
        actor=f"staff:{staff.id}",
        action="export",
        entity=staff,
        at=now,
        after={"site": site_code or "all", "format": fmt, "bytes": size, "via": via},
    )
    await session.commit()


@dataclass(frozen=True)
class Archive:
    content: bytes
    site_code: str | None  # None: every site

    def filename(self, now: datetime) -> str:
        return f"nct04136106-{(self.site_code or 'all').lower()}-{now:%Y%m%d}.zip"


async def csv_archive(session: AsyncSession, *, staff: Staff, now: datetime, via: str) -> Archive:
    """The CSV datasets and codebook of the staff member's site (admins: every site) in one zip, audited.
    Raises NotAllowed unless coordinator or admin. Commits."""
    site_code = await export_scope(session, staff=staff, site_code=None)
    with tempfile.TemporaryDirectory() as folder:
        content = await csv_zip(session, site_code=site_code, folder=Path(folder))
    await audit_export(session, staff=staff, site_code=site_code, fmt="csv", size=len(content), now=now, via=via)
    return Archive(content, site_code)
