"""Who is writing: the active patient of this chat, or a kind explanation of why not."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update

from bot.app import BotContext
from bot.services import onboarding
from bot.services.consent import pending_here
from bot.services.safety import emergency_line
from handlers.common import stranger_gettext
from handlers.patient.onboarding import HELP_FOR_STRANGERS, ask_consent, patient_gettext
from models import Patient, PatientStatus, Site


async def active_patient(update: Update, session: AsyncSession) -> Patient | None:
    chat = update.effective_chat
    if chat is None:
        return None
    patient = await onboarding.patient_for_chat(session, chat_id=chat.id)
    return patient if patient is not None and patient.status is PatientStatus.ACTIVE else None


async def not_active(update: Update, context: BotContext) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    async with context.deps.session() as session:
        patient = await onboarding.patient_for_chat(session, chat_id=chat.id)
        site = None if patient is None else await session.get_one(Site, patient.site_id)
    if patient is None or site is None:
        await message.reply_text(stranger_gettext(update)(HELP_FOR_STRANGERS))
        return
    _ = patient_gettext(patient)
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


async def patient_or_explain(update: Update, context: BotContext, session: AsyncSession) -> Patient | None:
    """The chat's active patient; anyone else is told why the bot cannot go on (and None is returned)."""
    patient = await active_patient(update, session)
    if patient is None:
        await not_active(update, context)
    return patient


async def consent_first(message: Message, patient: Patient, session: AsyncSession, context: BotContext) -> bool:
    """Consent to a new consent version is pending: the consent screen is shown (True) and nothing is collected
    until the patient agrees (bot.services.consent). False: go on."""
    deps = context.deps
    if not await pending_here(session, patient=patient, protocol=deps.protocol, now=deps.clock.now()):
        return False
    await ask_consent(message, patient, await session.get_one(Site, patient.site_id), context, changed=True)
    return True
