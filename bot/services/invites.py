"""One-time deep-link codes: random, stored only as a hash, single use, with an expiry."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import InviteCode, InvitePurpose


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
