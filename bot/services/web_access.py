"""Signing in to the study console through Telegram: one-time links, sessions, their time limits.

A linked, active staff member asks for a link (`/web` in Telegram, `followup staff sign-in-link`); the link works
once, for 10 minutes, and is exchanged at once for a session. Only SHA-256 hashes of both tokens are stored. A
session ends after 30 minutes without a request, 12 hours after sign-in, at sign-out, or when the staff member is
deactivated (checked on every request).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import get_for_update
from bot.services.audit import audited, record_event
from bot.services.errors import DomainError, language_or_error
from bot.services.invites import hash_code
from bot.services.sites import get_staff
from models import Staff, WebSession, WebSignInLink

SIGN_IN_LINK_VALID = timedelta(minutes=10)
IDLE_TIMEOUT = timedelta(minutes=30)
LONGEST_SESSION = timedelta(hours=12)
MAX_TOKEN_LENGTH = 64
MINI_APP_PATH = "/mini-app"  # the console's page Telegram opens as a Mini App (bot.services.mini_app_sign_in)


def sign_in_path(token: str) -> str:
    """Where a sign-in link points, below the console's URL."""
    return f"/sign-in/{token}"


async def issue_sign_in_link(session: AsyncSession, *, staff_id: int, actor: str, now: datetime) -> str:
    """A new one-time sign-in token for an active, linked staff member (returned in clear, shown once)."""
    staff = await get_staff(session, staff_id=staff_id)
    if not staff.active:
        raise DomainError(f"staff member #{staff_id} is deactivated")
    if staff.telegram_user_id is None:
        raise DomainError(f"staff member #{staff_id} has not linked Telegram yet (send them their invite)")
    token = secrets.token_urlsafe(24)
    link = WebSignInLink(
        token_hash=hash_code(token), staff_id=staff.id, expires_at=now + SIGN_IN_LINK_VALID, created_at=now
    )
    session.add(link)
    await session.flush()
    record_event(session, actor=actor, action="web.sign_in_link", entity=link, at=now, after={"staff_id": staff.id})
    await session.commit()
    return token


async def sign_in(session: AsyncSession, *, token: str, now: datetime) -> str | None:
    """Exchange a sign-in token for a new session token; None when it is unknown, used, expired or its owner
    is deactivated. The link is used up either way once found."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    link_id = await session.scalar(select(WebSignInLink.id).where(WebSignInLink.token_hash == hash_code(token)))
    if link_id is None:
        return None
    link = await get_for_update(session, WebSignInLink, link_id)
    if link is None or link.used_at is not None:
        await session.rollback()
        return None
    link.used_at = now
    staff = await session.get_one(Staff, link.staff_id)
    if link.expires_at <= now or not staff.active:
        await session.commit()
        return None
    return await open_web_session(session, staff=staff, how="link", now=now)


async def open_web_session(session: AsyncSession, *, staff: Staff, how: str, now: datetime) -> str:
    """A new session for a staff member whose sign-in was checked (`how`: link or mini_app); its token in
    clear, to go into the cookie. Commits."""
    session_token = secrets.token_urlsafe(32)
    web_session = WebSession(
        token_hash=hash_code(session_token), staff_id=staff.id, created_at=now, last_seen_at=now, ended_at=None
    )
    session.add(web_session)
    await session.flush()
    record_event(
        session, actor=f"staff:{staff.id}", action="web.sign_in", entity=web_session, at=now, after={"how": how}
    )
    await session.commit()
    return session_token


async def signed_in_staff(session: AsyncSession, *, token: str, now: datetime) -> Staff | None:
    """The staff member whose live session this is (and the session is kept alive), or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    web_session = await session.scalar(select(WebSession).where(WebSession.token_hash == hash_code(token)))
    if web_session is None or web_session.ended_at is not None:
        return None
    staff = await session.get_one(Staff, web_session.staff_id)
    if (
        not staff.active
        or now - web_session.last_seen_at > IDLE_TIMEOUT
        or now - web_session.created_at > LONGEST_SESSION
    ):
        web_session.ended_at = now
        await session.commit()
        return None
    web_session.last_seen_at = now
    await session.commit()
    return staff


async def sign_out(session: AsyncSession, *, token: str, now: datetime) -> None:
    """End the session (nothing happens for an unknown or ended one)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return
    web_session = await session.scalar(select(WebSession).where(WebSession.token_hash == hash_code(token)))
    if web_session is not None and web_session.ended_at is None:
        web_session.ended_at = now
        record_event(session, actor=f"staff:{web_session.staff_id}", action="web.sign_out", entity=web_session, at=now)
        await session.commit()


async def set_language(session: AsyncSession, *, staff: Staff, language: str, now: datetime) -> None:
    """The staff member's language, for the console and their Telegram messages alike (audited)."""
    language = language_or_error(language)
    if staff.language != language:
        with audited(session, entity=staff, actor=f"staff:{staff.id}", action="staff.language", at=now):
            staff.language = language
        await session.commit()
