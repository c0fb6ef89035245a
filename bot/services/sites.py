"""Study sites and their staff."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import DEFAULT_LANGUAGE
from bot.services.audit import audited, record_event, snapshot
from bot.services.errors import DomainError, NotFound
from bot.services.invites import issue_code
from bot.services.text import visible_text
from models import InvitePurpose, Site, Staff, StaffRole

SITE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,30}")

SITE_NAME_LIMIT = 100  # names go into greetings and alerts, which Telegram caps at 4,096 characters
STAFF_NAME_LIMIT = 64


def name_or_error(name: str, *, what: str, limit: int) -> str:
    """A site's or staff member's name as kept: visible text, one space between words, at most `limit`."""
    kept = visible_text(name)
    if not kept:
        raise DomainError(f"{what}: must not be empty")
    if len(kept) > limit:
        raise DomainError(f"{what}: at most {limit} characters (this one has {len(kept)})")
    return kept


def zone_or_error(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)") from None


async def get_site(session: AsyncSession, *, code: str) -> Site:
    site = await session.scalar(select(Site).where(Site.code == code.upper()))
    if site is None:
        raise NotFound(f"no site with code {code!r}")
    return site


async def site_of(session: AsyncSession, *, site_id: int) -> Site:
    """The site a patient, staff member or escalation belongs to (by its `site_id`)."""
    return await session.get_one(Site, site_id)


async def get_staff(session: AsyncSession, *, staff_id: int) -> Staff:
    staff = await session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(f"no staff member #{staff_id}")
    return staff


async def add_site(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    timezone: str,
    phone: str,
    actor: str,
    now: datetime,
) -> Site:
    """A new site, with the 24-hour phone every urgent advice names."""
    code = code.strip().upper()
    if not SITE_CODE.match(code):
        raise DomainError(f"site code {code!r}: use 1-32 letters, digits, '-' or '_'")
    name = name_or_error(name, what="site name", limit=SITE_NAME_LIMIT)
    zone_or_error(timezone)
    phone = checked_phone(phone)
    if await session.scalar(select(Site.id).where(Site.code == code)) is not None:
        raise DomainError(f"site {code} exists already")
    site = Site(code=code, name=name, timezone=timezone, phone=phone, created_at=now)
    session.add(site)
    await session.flush()
    record_event(session, actor=actor, action="site.add", entity=site, at=now, after=snapshot(site))
    await session.commit()
    return site


def checked_phone(phone: str) -> str:
    phone = " ".join(phone.split())
    if not PHONE.fullmatch(phone):
        raise DomainError(f"site phone {phone!r}: use digits, spaces, '+', '-' or brackets")
    return phone


async def update_site(
    session: AsyncSession,
    *,
    code: str,
    name: str | None,
    timezone: str | None,
    phone: str | None,
    reason: str | None,
    actor: str,
    now: datetime,
) -> Site:
    """Change a site's name, time zone (its digest hour; patients keep their own zone) or phone; audited."""
    site = await get_site(session, code=code)
    if name is None and timezone is None and phone is None:
        raise DomainError("nothing to change: give --name, --timezone or --phone")
    if name is not None:
        name = name_or_error(name, what="site name", limit=SITE_NAME_LIMIT)
    if timezone is not None:
        zone_or_error(timezone)
    checked = checked_phone(phone) if phone is not None else None
    with audited(session, entity=site, actor=actor, action="site.update", at=now) as notes:
        site.name = name or site.name
        site.timezone = timezone or site.timezone
        site.phone = checked or site.phone
        if reason:
            notes["reason"] = reason
    await session.commit()
    return site


async def list_sites(session: AsyncSession) -> Sequence[Site]:
    return (await session.scalars(select(Site).order_by(Site.code))).all()


async def linked_clinicians(session: AsyncSession) -> dict[int, list[Staff]]:
    """Each site's linked, active clinicians (the first step of every alert), by site id."""
    found: dict[int, list[Staff]] = {}
    query = select(Staff).where(
        Staff.role == StaffRole.CLINICIAN, Staff.active.is_(True), Staff.telegram_user_id.is_not(None)
    )
    for member in await session.scalars(query.order_by(Staff.id)):
        found.setdefault(member.site_id, []).append(member)
    return found


async def add_staff(
    session: AsyncSession,
    *,
    site_code: str,
    role: StaffRole,
    name: str,
    actor: str,
    now: datetime,
    invite_valid_days: int,
) -> tuple[Staff, str]:
    """Create a staff record and its one-time invite; returns the record and the clear invite code."""
    site = await get_site(session, code=site_code)
    name = name_or_error(name, what="staff name", limit=STAFF_NAME_LIMIT)
    staff = Staff(site_id=site.id, role=role, name=name, language=DEFAULT_LANGUAGE, created_at=now)
    session.add(staff)
    await session.flush()
    code = issue_code(session, purpose=InvitePurpose.STAFF, now=now, valid_days=invite_valid_days, staff_id=staff.id)
    record_event(session, actor=actor, action="staff.add", entity=staff, at=now, after=snapshot(staff))
    await session.commit()
    return staff, code


async def list_staff(session: AsyncSession, *, site_code: str | None = None) -> list[tuple[Staff, Site]]:
    query = select(Staff, Site).join(Site, Staff.site_id == Site.id).order_by(Site.code, Staff.role, Staff.id)
    if site_code:
        query = query.where(Site.code == site_code.upper())
    return [(first, second) for first, second in await session.execute(query)]
