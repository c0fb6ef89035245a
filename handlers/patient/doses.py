"""Answers to a dose reminder: Taken / Skipped / Remind me later."""

from __future__ import annotations

from telegram import CallbackQuery, Message

from bot.callbacks import Dose
from bot.services.doses import DoseAnswer, DoseOutcome, answer_dose
from handlers.context import BotContext
from handlers.patient.access import patient_button
from handlers.patient.onboarding import consent_first
from models import Patient


@patient_button(Dose)
async def on_dose_button(
    query: CallbackQuery, message: Message, tap: Dose, patient: Patient, context: BotContext
) -> None:
    _ = context.gettext
    deps = context.deps
    async with deps.session() as session:
        if await consent_first(message, patient, session, context):
            await query.answer()
            return  # no dose answer is taken while consent to a new version is pending
        outcome = await answer_dose(
            session,
            patient=patient,
            contact_id=tap.contact_id,
            answer=tap.answer,
            protocol=deps.protocol,
            now=deps.clock.now(),
        )
    if outcome is DoseOutcome.STALE:
        await query.answer(_("This reminder was already answered."))
        return
    if outcome is DoseOutcome.TOO_LATE:
        await query.answer()
        await query.edit_message_text(f"{message.text}\n\n" + _("This day is over, so this dose stays unconfirmed."))
        return
    if outcome is DoseOutcome.NO_MORE_SNOOZES:
        await query.answer(_("I cannot remind you again today. Please tap Taken or Skipped."), show_alert=True)
        return
    await query.answer()
    if outcome is DoseOutcome.SNOOZED:
        await query.edit_message_text(f"{message.text}\n\n⏰ " + _("I will remind you again in about an hour."))
        return
    chosen = _("Taken") if tap.answer is DoseAnswer.TAKEN else _("Skipped")
    await query.edit_message_text(f"{message.text}\n\n✔ {chosen}. " + _("Thank you!"))
