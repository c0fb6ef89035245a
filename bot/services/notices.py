"""Notices to staff that a service decides on: written to the outbox in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import enqueue
from bot.i18n import Gettext, gettext_for
from bot.roles import COORDINATING_ROLES
from bot.services.escalation import recipients_of_site, study_admins
from models import StaffRole


async def tell_coordinators(
    session: AsyncSession,
    *,
    site_id: int,
    key: str,
    text: str | Callable[[Gettext], str],
    now: datetime,
    roles: Sequence[StaffRole] = COORDINATING_ROLES,
) -> int:
    """Queue a plain notice to the linked coordinators and PI of a site (or to `roles`, e.g. SITE_TEAM).

    `text` is the notice, or a function that writes it with each staff member's translator. Returns how many
    were queued."""
    write = text if callable(text) else (lambda _: text)
    return await tell_staff(session, site_id=site_id, roles=roles, key=key, text=write, now=now)


async def tell_staff(
    session: AsyncSession,
    *,
    site_id: int,
    roles: Sequence[StaffRole],
    key: str,
    text: Callable[[Gettext], str],
    now: datetime,
) -> int:
    """Like `tell_coordinators`, with admins of every site when ADMIN is among `roles` (they act on all sites).
    Returns how many were queued."""
    members = await recipients_of_site(
        session, site_id=site_id, roles=[role for role in roles if role is not StaffRole.ADMIN]
    )
    if StaffRole.ADMIN in roles:
        members += [admin for admin in await study_admins(session) if admin not in members]
    queued = 0
    for member in members:
        assert member.telegram_user_id is not None
        queued += await enqueue(
            session,
            dedupe_key=f"{key}:staff{member.id}",
            chat_id=member.telegram_user_id,
            payload={"text": text(gettext_for(member.language))},
            now=now,
            staff_id=member.id,
        )
    return queued
