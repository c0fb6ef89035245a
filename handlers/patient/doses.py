"""Answers to a dose reminder: Taken / Skipped / Remind me later."""

from __future__ import annotations

from telegram import Message, Update

from bot.app import BotContext
from bot.services.doses import DoseAnswer, DoseOutcome, answer_dose
from handlers.common import record_id
from handlers.patient.access import active_patient, consent_first
from handlers.patient.onboarding import patient_gettext


async def on_dose_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None or query.data is None or not isinstance(query.message, Message):
        return
    _kind, raw_id, choice = ([*query.data.split("|"), "", ""])[:3]
    contact_id = record_id(raw_id)
    deps = context.deps
    async with deps.session() as session:
        patient = await active_patient(update, session)
        if patient is None or contact_id is None or choice not in {answer.value for answer in DoseAnswer}:
            await query.answer()
            return
        if await consent_first(query.message, patient, session, context):
            await query.answer()
            return  # no dose answer is taken while consent to a new version is pending
        _ = patient_gettext(patient)
        answer = DoseAnswer(choice)
        outcome = await answer_dose(
            session,
            patient=patient,
            contact_id=contact_id,
            answer=answer,
            protocol=deps.protocol,
            now=deps.clock.now(),
        )
    if outcome is DoseOutcome.STALE:
        await query.answer(_("This reminder was already answered."))
        return
    if outcome is DoseOutcome.TOO_LATE:
        await query.answer()
        await query.edit_message_text(
            f"{query.message.text}\n\n" + _("This day is over, so this dose stays unconfirmed.")
        )
        return
    if outcome is DoseOutcome.NO_MORE_SNOOZES:
        await query.answer(_("I cannot remind you again today. Please tap Taken or Skipped."), show_alert=True)
        return
    await query.answer()
    if outcome is DoseOutcome.SNOOZED:
        await query.edit_message_text(f"{query.message.text}\n\n⏰ " + _("I will remind you again in about an hour."))
        return
    chosen = _("Taken") if answer is DoseAnswer.TAKEN else _("Skipped")
    await query.edit_message_text(f"{query.message.text}\n\n✔ {chosen}. " + _("Thank you!"))
