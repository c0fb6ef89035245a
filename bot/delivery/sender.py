"""Sending one outbox row through python-telegram-bot, with Telegram's errors sorted into three outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from telegram import Bot, BotCommandScopeChat, InlineKeyboardMarkup, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.delivery.keyboards import inline_keyboard
from models import OutboxMessage


@dataclass(frozen=True)
class Delivered:
    message_id: int | None


@dataclass(frozen=True)
class Retry:
    error: str
    after: timedelta | None = None  # Telegram's retry_after, honoured exactly; None: the dispatcher backs off
    rate_limited: bool = False


@dataclass(frozen=True)
class Permanent:
    error: str
    blocked: bool = False  # the person blocked the bot or deleted their account


Outcome = Delivered | Retry | Permanent


class Sender(Protocol):
    async def send(self, message: OutboxMessage) -> Outcome: ...


def _markup(payload: dict[str, Any]) -> InlineKeyboardMarkup | None:
    """The row's buttons (bot.callbacks.rows_payload). A row queued by an earlier version stored the Bot API's
    own reply_markup: it is sent as it is, so an alert queued before an upgrade keeps its buttons."""
    buttons = payload.get("buttons")
    if isinstance(buttons, list):
        return inline_keyboard(buttons)
    markup = payload.get("reply_markup")
    return InlineKeyboardMarkup.de_json(markup, None) if isinstance(markup, dict) else None


class TelegramSender:
    """Calls the Bot API for a row. Never raises for Telegram's answers: every one becomes an Outcome."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, message: OutboxMessage) -> Outcome:
        payload = message.payload
        try:
            if message.method == "sendMessage":
                sent = await self._bot.send_message(message.chat_id, payload["text"], reply_markup=_markup(payload))
                return Delivered(sent.message_id)
            if message.method == "editMessageText":
                edited = await self._bot.edit_message_text(
                    payload["text"],
                    chat_id=message.chat_id,
                    message_id=payload["message_id"],
                    reply_markup=_markup(payload),
                )
                return Delivered(edited.message_id if isinstance(edited, Message) else None)
            if message.method == "deleteMyCommands":  # a chat's own command menu (staff) falls back to the default
                await self._bot.delete_my_commands(scope=BotCommandScopeChat(message.chat_id))
                return Delivered(None)
            return Permanent(f"unknown method {message.method}")
        except RetryAfter as error:
            after = error.retry_after
            return Retry(
                "429 Too Many Requests",
                after if isinstance(after, timedelta) else timedelta(seconds=after),
                rate_limited=True,
            )
        except Forbidden as error:
            return Permanent(f"403 {error.message}", blocked=True)
        except BadRequest as error:
            if "message is not modified" in error.message.lower():
                return Delivered(None)
            return Permanent(f"400 {error.message}")
        except ChatMigrated as error:
            return Permanent(f"chat migrated to {error.new_chat_id}")
        except (TimedOut, NetworkError) as error:
            return Retry(f"{type(error).__name__}: {error.message}")
        except TelegramError as error:
            return Retry(f"{type(error).__name__}: {error.message}")
