"""Notices to staff that a service decides on: written to the outbox in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from models import Staff, StaffRole

COORDINATING = (StaffRole.COORDINATOR, StaffRole.PI)


async def tell_coordinators(
    session: AsyncSession, *, site_id: int, key: str, text: str, now: datetime
) -> int:
    """Queue a plain notice to the linked coordinators and PI of a site. Returns how many were queued."""
    staff = await session.scalars(
        select(Staff).where(
            Staff.site_id == site_id,
            Staff.role.in_(COORDINATING),
            Staff.active.is_(True),
            Staff.telegram_user_id.is_not(None),
        )
    )
    queued = 0
    for member in staff:
        assert member.telegram_user_id is not None
        queued += await enqueue(
            session,
            dedupe_key=f"{key}:staff{member.id}",
            chat_id=member.telegram_user_id,
            payload={"text": text},
            now=now,
            staff_id=member.id,
        )
    return queued
