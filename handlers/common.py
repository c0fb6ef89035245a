"""What every handler shares: the private-chat filter, update de-duplication, a safe error handler, and the
"please try again" of an update that could not be handled."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, filters

from bot.i18n import N_, Gettext, gettext_for, language_from_telegram
from bot.logs import log_failure
from bot.services import onboarding
from bot.update_scope import RepeatedUpdate, current_scope
from handlers.context import BotApplication, BotContext, Deps

log = logging.getLogger(__name__)

PRIVATE = filters.ChatType.PRIVATE
NEW_MESSAGE = filters.UpdateType.MESSAGE  # edited messages never change an answer


async def drop_repeated_update(update: Update, context: BotContext) -> None:
    """Group -2: an update id seen before (Telegram redelivery, webhook retry) stops here; a new one is marked
    with the first change its handling commits (bot.update_scope). The context learns who wrote."""
    if not await context.claim(update):
        log.info("update %s was already handled", update.update_id)
        raise ApplicationHandlerStop


async def on_error(update: object, context: BotContext) -> None:
    """Log the update id and the error's type and place, never the update's content or user data; the update's
    uncommitted changes are dropped, it is not marked as handled, and no later handler runs for it (it will
    be handled again: see `BotApplication.process_update`)."""
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, RepeatedUpdate):
        log.info("update %s was handled at the same time elsewhere: its changes were rolled back", update_id)
        return
    log_failure(f"update {update_id}", context.error)
    scope = current_scope()
    if scope is not None and context.error is not None:
        scope.fail(context.error)
        raise ApplicationHandlerStop


TRY_AGAIN = N_("Sorry, something went wrong on our side. Please try again in a minute.")


async def tell_update_failed(application: BotApplication, update: Update) -> None:
    """The update was given up: clear a button's spinner and ask the person, in their language, to try again."""
    deps: Deps = application.bot_data["deps"]
    chat = update.effective_chat
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):  # the handler may have answered it before it failed
            await update.callback_query.answer()
    try:
        if chat is None or chat.type != chat.PRIVATE:
            return
        async with deps.session() as session:
            patient = await onboarding.patient_for_chat(session, chat_id=chat.id)
            staff = await onboarding.staff_for_user(session, user_id=chat.id)
        if patient is not None:
            _ = gettext_for(patient.language)
        elif staff is not None:
            _ = gettext_for(staff.language)
        else:
            _ = stranger_gettext(update)
        await application.bot.send_message(chat.id, _(TRY_AGAIN))
    except Exception as error:  # the database or Telegram is still failing: the failure is already counted
        log_failure(f"telling update {update.update_id} failed", error)


async def ignore_outside_private_chats(update: Update, context: BotContext) -> None:
    """Group -3: the bot talks only in private chats; groups and channels get nothing."""
    chat = update.effective_chat
    if chat is None or chat.type != chat.PRIVATE:
        raise ApplicationHandlerStop


def stranger_gettext(update: Update) -> Gettext:
    user = update.effective_user
    return gettext_for(language_from_telegram(user.language_code if user else None))


async def answer_unknown_button(update: Update, _context: BotContext) -> None:
    """Callback data no handler recognises (forged, or from an old version): answered, so the client stops
    waiting, and otherwise ignored."""
    if update.callback_query is not None:
        await update.callback_query.answer()
