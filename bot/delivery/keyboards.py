"""The one place buttons become a Telegram inline keyboard: for handlers (from `bot.callbacks.Rows`) and for
the sender (from an outbox row's stored [label, data] pairs)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup


def inline_keyboard(rows: Iterable[Iterable[Sequence[str]]]) -> InlineKeyboardMarkup:
    """Rows of (label, callback data) pairs as an inline keyboard."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )
