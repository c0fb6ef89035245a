"""Signing in to the study console from Telegram's Mini App, by the initData Telegram gives the page.

Telegram signs initData with the bot's token (https://core.telegram.org/bots/webapps, "Validating data received
via the Mini App"): the data-check-string is every received field except `hash`, as `key=value` lines sorted by
key and joined by a line feed; the secret key is HMAC-SHA256 of the bot token keyed with "WebAppData"; `hash` is
the hex HMAC-SHA256 of the data-check-string keyed with the secret key. Only a signed, fresh initData of a
linked, active staff member opens a session, the same kind of session as a sign-in link's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.web_access import open_web_session
from models import Staff

INIT_DATA_VALID = timedelta(minutes=10)  # as long as a sign-in link
CLOCK_SKEW = timedelta(minutes=1)  # an auth_date this far ahead of our clock is still accepted
MAX_INIT_DATA_LENGTH = 4096


def _expected_hash(fields: dict[str, str], *, bot_token: str) -> str:
    """The hex `hash` Telegram puts beside these fields (every field but `hash` is signed)."""
    check_string = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()) if key != "hash")
    secret_key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret_key, check_string.encode(), hashlib.sha256).hexdigest()


def telegram_user_of(init_data: str, *, bot_token: str, now: datetime) -> int | None:
    """The Telegram user id of a signed initData issued within the last 10 minutes; None for anything else
    (unsigned, tampered, signed with another token, stale, from the future, malformed)."""
    if not init_data or len(init_data) > MAX_INIT_DATA_LENGTH:
        return None
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs) or "hash" not in fields:  # a repeated field could be read two ways
        return None
    if not hmac.compare_digest(fields["hash"].encode(), _expected_hash(fields, bot_token=bot_token).encode()):
        return None
    try:
        issued = datetime.fromtimestamp(int(fields.get("auth_date", "")), UTC)
        user = json.loads(fields.get("user", ""))
    except (ValueError, OverflowError, OSError):
        return None
    if not now - INIT_DATA_VALID <= issued <= now + CLOCK_SKEW:
        return None
    user_id = user.get("id") if isinstance(user, dict) else None
    valid = isinstance(user_id, int) and not isinstance(user_id, bool) and 0 < user_id < 2**63  # a BIGINT
    return user_id if valid else None


async def sign_in_with_init_data(session: AsyncSession, *, init_data: str, bot_token: str, now: datetime) -> str | None:
    """A new session token for the linked, active staff member the initData names; None otherwise."""
    user_id = telegram_user_of(init_data, bot_token=bot_token, now=now)
    if user_id is None:
        return None
    staff = await session.scalar(select(Staff).where(Staff.telegram_user_id == user_id))
    if staff is None or not staff.active:
        return None
    return await open_web_session(session, staff=staff, how="mini_app", now=now)
