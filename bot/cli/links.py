"""Deep links and their QR codes for enrollment and staff invites."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import qrcode
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services.errors import DomainError
from bot.services.invites import local_expiry


async def bot_username(settings: Settings) -> str:
    """FOLLOWUP_BOT_USERNAME, or else ask Telegram (getMe) with the token."""
    if settings.bot_username:
        return settings.bot_username
    if settings.telegram_token is None:
        raise DomainError("set FOLLOWUP_BOT_USERNAME (or FOLLOWUP_TELEGRAM_TOKEN to ask Telegram) for deep links")
    from telegram import Bot
    from telegram.error import TelegramError

    bot = Bot(settings.require_token(), base_url=settings.telegram_api_url)
    try:
        async with bot:  # initialising the bot asks getMe once
            return bot.username
    except TelegramError as error:
        raise DomainError(f"could not ask Telegram for the bot's username: {error.message}") from None


async def valid_until(session: AsyncSession, *, code: str) -> str:
    """The link's expiry in its site's zone: "valid until 2026-12-03 09:00 (Asia/Shanghai)"."""
    expiry = await local_expiry(session, code=code)
    return f"valid until {expiry:%Y-%m-%d %H:%M} ({expiry.tzinfo})"


def check_writable(path: Path) -> None:
    """Refuse an output path before anything is written to the database."""
    parent = path.resolve().parent
    if not parent.is_dir():
        raise DomainError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise DomainError(f"{path}: folder {parent} is not writable")


def write_qr(link: str, path: Path) -> None:
    """Write a PNG QR code of the link, atomically (a temporary file renamed into place)."""
    image = qrcode.make(link, box_size=8, border=4)
    handle, temporary = tempfile.mkstemp(suffix=".png", dir=path.resolve().parent)
    os.close(handle)
    try:
        image.save(temporary)
        Path(temporary).replace(path)
    finally:
        Path(temporary).unlink(missing_ok=True)
