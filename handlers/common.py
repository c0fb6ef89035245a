"""What every handler shares: the private-chat filter, update de-duplication, a safe error handler."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from telegram import Update
from telegram.ext import ApplicationHandlerStop, filters

from bot.app import BotContext
from bot.i18n import Gettext, gettext_for, language_from_telegram
from bot.logs import log_failure
from models import ProcessedUpdate

log = logging.getLogger(__name__)

PRIVATE = filters.ChatType.PRIVATE
NEW_MESSAGE = filters.UpdateType.MESSAGE  # edited messages never change an answer


async def drop_repeated_update(update: Update, context: BotContext) -> None:
    """Group -1: an update id seen before (Telegram redelivery, webhook retry) stops here."""
    async with context.deps.session() as session:
        session.add(ProcessedUpdate(update_id=update.update_id, received_at=context.deps.clock.now()))
        try:
            await session.commit()
        except IntegrityError:
            log.info("update %s was already handled", update.update_id)
            raise ApplicationHandlerStop from None


async def ignore_outside_private_chats(update: Update, context: BotContext) -> None:
    """Group -2: the bot talks only in private chats; groups and channels get nothing."""
    chat = update.effective_chat
    if chat is None or chat.type != chat.PRIVATE:
        raise ApplicationHandlerStop


async def on_error(update: object, context: BotContext) -> None:
    """Log the update id and the error's type and place, never the update's content or user data."""
    update_id = update.update_id if isinstance(update, Update) else None
    log_failure(f"update {update_id}", context.error)


def stranger_gettext(update: Update) -> Gettext:
    user = update.effective_user
    return gettext_for(language_from_telegram(user.language_code if user else None))
