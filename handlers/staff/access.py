"""Who is writing: the active staff member with this Telegram account, or a refusal. `staff_command`,
`coordinator_command` and `staff_button` open every staff handler the same way, so none repeats it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import CallbackQuery, Message, Update

from bot.callbacks import Tap
from bot.i18n import N_, Gettext, gettext_for
from bot.services.status import may_see_study_data
from handlers.context import BotContext, TapHandler, UpdateHandler, on_tap
from models import Staff

STAFF_ONLY = N_("This is for study staff only.")
COORDINATORS_ONLY = N_("This command is for coordinators and admins.")

StaffHandler = Callable[[Message, Staff, BotContext], Awaitable[None]]
T = TypeVar("T", bound=Tap)


def staff_gettext(staff: Staff) -> Gettext:
    return gettext_for(staff.language)


async def _refusal(context: BotContext, *, coordinators_only: bool) -> str | None:
    """Why the writer may not go on (in their language), or None for staff with the right role."""
    staff = await context.staff()
    if staff is None:
        return context.gettext(STAFF_ONLY)
    if coordinators_only and not may_see_study_data(staff):
        return context.gettext(COORDINATORS_ONLY)
    return None


def _command(handler: StaffHandler, *, coordinators_only: bool) -> UpdateHandler:
    async def opened(update: Update, context: BotContext) -> None:
        message = update.effective_message
        if message is None:
            return
        refusal = await _refusal(context, coordinators_only=coordinators_only)
        staff = await context.staff()
        if refusal is not None or staff is None:
            await message.reply_text(refusal or context.gettext(STAFF_ONLY))
            return
        await handler(message, staff, context)

    return opened


def staff_command(handler: StaffHandler) -> UpdateHandler:
    """A command for any staff member; anyone else is told it is for staff only."""
    return _command(handler, coordinators_only=False)


def coordinator_command(handler: StaffHandler) -> UpdateHandler:
    """A command for coordinators and admins; anyone else is told it is not for them."""
    return _command(handler, coordinators_only=True)


def staff_button(kind: type[T], *, coordinators_only: bool = False) -> Callable[[TapHandler[T, Staff]], UpdateHandler]:
    """A tap of `kind` from staff (with `coordinators_only`, coordinators and admins): anyone else gets an
    alert saying why not."""

    async def tapping_staff(query: CallbackQuery, context: BotContext) -> Staff | None:
        refusal = await _refusal(context, coordinators_only=coordinators_only)
        if refusal is not None:
            await query.answer(refusal, show_alert=True)
            return None
        return await context.staff()

    return on_tap(kind, tapping_staff)
