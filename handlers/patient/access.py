"""Who is writing: the active patient of this chat, or a kind explanation of why not. `patient_command` and
`patient_button` open every patient handler the same way, so none repeats it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import CallbackQuery, Message, Update

from bot.callbacks import Tap
from bot.i18n import N_
from bot.services.safety import emergency_line
from bot.services.sites import site_of
from handlers.context import BotContext, TapHandler, UpdateHandler, on_tap
from models import Patient, PatientStatus, Site

HELP_FOR_STRANGERS = N_(
    "This bot is only for people taking part in the IL-2 lupus study. If you take part, please open the "
    "personal link your study coordinator gave you."
)
T = TypeVar("T", bound=Tap)


async def active_patient(context: BotContext) -> Patient | None:
    patient = await context.patient()
    return patient if patient is not None and patient.status is PatientStatus.ACTIVE else None


async def patient_and_site(message: Message, context: BotContext) -> tuple[Patient, Site] | None:
    """The chat's patient (whatever their status) and their site; a stranger is told what the bot is for."""
    patient = await context.patient()
    if patient is None:
        await message.reply_text(context.gettext(HELP_FOR_STRANGERS))
        return None
    async with context.deps.session() as session:
        return patient, await site_of(session, site_id=patient.site_id)


async def not_active(update: Update, context: BotContext) -> None:
    message = update.effective_message
    known = None if message is None else await patient_and_site(message, context)
    if message is None or known is None:
        return
    patient, site = known
    _ = context.gettext
    if patient.status is PatientStatus.ENROLLED:
        await message.reply_text(
            _("Please answer the question above first (I agree / I do not agree). Send /start to see it again.")
        )
    elif patient.status is PatientStatus.CLINIC_ONLY:
        await message.reply_text(
            _(
                "You asked for no more messages from this bot. Your study doctors still follow your health at "
                "your clinic visits."
            )
            + "\n\n"
            + emergency_line(_, site=site, protocol=context.deps.protocol)
        )
    else:
        await message.reply_text(
            _("Your follow-up in this study has ended. Thank you for taking part.")
            + "\n\n"
            + emergency_line(_, site=site, protocol=context.deps.protocol)
        )


def patient_command(handler: Callable[[Message, Patient, BotContext], Awaitable[None]]) -> UpdateHandler:
    """A command for the chat's active patient; anyone else is told why the bot cannot go on."""

    async def opened(update: Update, context: BotContext) -> None:
        message = update.effective_message
        if message is None:
            return
        patient = await active_patient(context)
        if patient is None:
            await not_active(update, context)
            return
        await handler(message, patient, context)

    return opened


def patient_button(
    kind: type[T] | tuple[type[T], ...], *, active: bool = True
) -> Callable[[TapHandler[T, Patient]], UpdateHandler]:
    """A tap of `kind` from the chat's patient (`active`: only while in follow-up); a tap from anyone else is
    answered (the client stops waiting) and otherwise ignored."""

    async def tapping_patient(query: CallbackQuery, context: BotContext) -> Patient | None:
        patient = await (active_patient(context) if active else context.patient())
        if patient is None:
            await query.answer()
        return patient

    return on_tap(kind, tapping_patient)
