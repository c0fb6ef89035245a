"""One-time deep-link codes: random, stored only as a hash, single use, with an expiry."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import InviteCode, InvitePurpose, Patient, Site, Staff


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


def issue_code(
    session: AsyncSession,
    *,
    purpose: InvitePurpose,
    now: datetime,
    valid_days: int,
    patient_id: int | None = None,
    staff_id: int | None = None,
) -> str:
    """Add a new invite for a patient or a staff member; returns the clear code (shown once)."""
    code = secrets.token_urlsafe(16)
    session.add(
        InviteCode(
            code_hash=hash_code(code),
            purpose=purpose,
            patient_id=patient_id,
            staff_id=staff_id,
            expires_at=now + timedelta(days=valid_days),
            created_at=now,
        )
    )
    return code


async def find_code(session: AsyncSession, *, code: str) -> InviteCode | None:
    if not code or len(code) > 64:
        return None
    return await session.scalar(select(InviteCode).where(InviteCode.code_hash == hash_code(code)))


async def local_expiry(session: AsyncSession, *, code: str) -> datetime:
    """When an issued code stops working, in its site's time zone (what a coordinator tells the person)."""
    invite = await find_code(session, code=code)
    assert invite is not None, "an issued code"
    owner = Patient if invite.patient_id is not None else Staff
    site_id = await session.scalar(select(owner.site_id).where(owner.id == (invite.patient_id or invite.staff_id)))
    zone = await session.scalar(select(Site.timezone).where(Site.id == site_id))
    assert zone is not None
    return invite.expires_at.astimezone(ZoneInfo(zone))


async def void_open_codes(
    session: AsyncSession, *, now: datetime, patient_id: int | None = None, staff_id: int | None = None
) -> None:
    """Every unused, unexpired code of this patient or staff member stops working now."""
    holder = InviteCode.patient_id == patient_id if patient_id is not None else InviteCode.staff_id == staff_id
    await session.execute(
        update(InviteCode)
        .where(holder, InviteCode.used_at.is_(None), InviteCode.expires_at > now)
        .values(expires_at=now)
    )
