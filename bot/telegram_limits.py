"""Telegram's size limits (https://core.telegram.org/bots/api), shared by the bot and the loopback stub."""

from __future__ import annotations

TEXT_LIMIT = 4096  # a message's text, in UTF-16 code units as Telegram counts them
CAPTION_LIMIT = 1024  # a photo's or document's caption
CALLBACK_DATA_LIMIT = 64  # a button's callback data, in bytes


def telegram_length(text: str) -> int:
    """A text's length as Telegram counts it (UTF-16 code units: an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2
