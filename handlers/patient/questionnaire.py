"""/checkin and /report: one item at a time (a tap edits the question in place), a summary, then submission."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, Message, Update

from bot.callbacks import Back, Choose, EditAnswers, EditItem, ResponseTap, Submit, Tap
from bot.forms import ITEMS, Kind
from bot.i18n import Gettext, clock, long_date
from bot.services import checkin_submission, checkins
from bot.services.checkins import AskItem, NothingDue, Summary
from bot.services.consent import consent_pending
from bot.services.escalation import ESCALATING
from bot.services.patient_messages import has_red_flags
from handlers.context import BotContext
from handlers.patient.access import patient_button, patient_command
from handlers.patient.messages import on_patient_words, unwell_outside_follow_up
from handlers.patient.onboarding import consent_first, patient_gettext
from handlers.render import edit_menu, view
from models import FormKind, Patient


async def show(message: Message, patient: Patient, step: AskItem | Summary, session: AsyncSession) -> None:
    """Send the next item (or the summary) as a new message, and remember it so old keyboards can be retired."""
    text, markup = view(step, patient_gettext(patient))
    sent = await message.get_bot().send_message(message.chat_id, text, reply_markup=markup)
    await checkins.remember_message(session, patient=patient, response_id=step.response_id, message_id=sent.message_id)


async def _open(message: Message, patient: Patient, context: BotContext, form: FormKind) -> None:
    deps = context.deps
    _ = context.gettext
    async with deps.session() as session:
        # a pending consent comes first; a report of feeling unwell still goes on (the red-flag path never waits)
        if await consent_first(message, patient, session, context) and form is FormKind.CHECKIN:
            return
        step = await checkins.start(session, patient=patient, form=form, now=deps.clock.now())
        if isinstance(step, NothingDue):
            if step.next_due is None:
                await message.reply_text(_("There is no check-in to answer now."))
            else:
                local = step.next_due.astimezone(ZoneInfo(patient.timezone))
                await message.reply_text(
                    _("There is no check-in to answer now. Your next one is on {date} at {time}.").format(
                        date=long_date(local.date(), patient.language), time=clock(local.time())
                    )
                )
            return
        assert isinstance(step, AskItem | Summary)
        if form is FormKind.REPORT and isinstance(step, AskItem) and step.number == 1:
            await message.reply_text(
                _("I am sorry you feel unwell. Please answer a few questions so your study team can see how you are.")
            )
        await show(message, patient, step, session)


@patient_command
async def checkin(message: Message, patient: Patient, context: BotContext) -> None:
    await _open(message, patient, context, FormKind.CHECKIN)


@patient_command
async def _report_form(message: Message, patient: Patient, context: BotContext) -> None:
    await _open(message, patient, context, FormKind.REPORT)


async def report(update: Update, context: BotContext) -> None:
    """/report: the report form; for someone whose follow-up ended, the emergency advice (no questions)."""
    if not await unwell_outside_follow_up(update, context):
        await _report_form(update, context)


async def on_report_button(update: Update, context: BotContext) -> None:
    """The "I feel unwell now" button under a reply to the patient's own words: the same as /report."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await report(update, context)


async def on_start_button(update: Update, context: BotContext) -> None:
    """The Start button under a check-in reminder: the same as /checkin."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await checkin(update, context)


QUESTIONNAIRE_TAPS = (Choose, Back, Submit, EditAnswers, EditItem)


@patient_button(QUESTIONNAIRE_TAPS)
async def on_questionnaire_button(
    query: CallbackQuery, message: Message, tap: Tap, patient: Patient, context: BotContext
) -> None:
    """All questionnaire taps: an answer, Back, Submit, Edit, and the item chosen to edit."""
    deps = context.deps
    _ = context.gettext
    async with deps.session() as session:
        if await _checkin_waits_for_consent(query, message, patient, tap, session, context):
            return
        if isinstance(tap, Choose):
            step = await checkins.choose(
                session,
                patient=patient,
                response_id=tap.response_id,
                item_id=tap.item_id,
                code=tap.code,
                protocol=deps.protocol,
                now=deps.clock.now(),
            )
            if step is None:
                await query.answer(_("This question was already answered."))
                return
            await _answer_and_show(query, step, _)
        elif isinstance(tap, Back):
            step = await checkins.back(session, patient=patient, response_id=tap.response_id)
            if step is None:
                await query.answer()
            else:
                await _answer_and_show(query, step, _)
        elif isinstance(tap, EditAnswers):
            response = await checkins.in_progress(session, patient=patient)
            await query.answer()
            if response is not None and response.id == tap.response_id and response.current_item is None:
                current = await checkins.current_step(session, patient=patient, response=response)
                if isinstance(current, Summary):
                    await query.edit_message_reply_markup(reply_markup=edit_menu(current, _))
        elif isinstance(tap, EditItem):
            edit = await checkins.edit(session, patient=patient, response_id=tap.response_id, item_id=tap.item_id)
            if edit is None:
                await query.answer()
            else:
                await _answer_and_show(query, edit, _)
        elif isinstance(tap, Submit):
            await query.answer()
            await _submit(message, patient, tap.response_id, session, context)
        else:
            await query.answer()


async def _checkin_waits_for_consent(
    query: CallbackQuery, message: Message, patient: Patient, tap: Tap, session: AsyncSession, context: BotContext
) -> bool:
    """No check-in answer is taken while consent to a new version is pending (the report form's are)."""
    if not consent_pending(patient, context.deps.protocol) or not isinstance(tap, Choose | ResponseTap | EditItem):
        return False
    response = await checkins.in_progress(session, patient=patient)
    if response is None or response.id != tap.response_id or response.form is not FormKind.CHECKIN:
        return False
    if isinstance(tap, Choose) and tap.item_id == response.current_item:
        deps = context.deps
        await checkins.alarm_for_held_answer(
            session, patient=patient, response=response, code=tap.code, protocol=deps.protocol, now=deps.clock.now()
        )
    if not await consent_first(message, patient, session, context):
        return False
    await query.answer()
    return True


async def _answer_and_show(query: CallbackQuery, step: AskItem | Summary, _: Gettext) -> None:
    """The next item (or the summary) replaces the tapped question in the same message: one edit per tap."""
    text, markup = view(step, _)
    await asyncio.gather(query.answer(), query.edit_message_text(text, reply_markup=markup))


async def _submit(
    message: Message, patient: Patient, response_id: int, session: AsyncSession, context: BotContext
) -> None:
    """Submit. What raised an alarm is answered through the outbox (the advice first, then the thank-you),
    written in the submission's transaction; anything else is thanked here."""
    deps = context.deps
    _ = patient_gettext(patient)
    outcome = await checkin_submission.submit(
        session, patient=patient, response_id=response_id, protocol=deps.protocol, now=deps.clock.now()
    )
    if outcome is None:
        return  # a second tap on Submit
    await message.edit_reply_markup(reply_markup=None)
    if outcome.result.level not in ESCALATING:
        await message.reply_text(_("Thank you, your answers have been sent. Take care!"))


async def on_typed_answer(update: Update, context: BotContext, patient: Patient, session: AsyncSession) -> bool:
    """Typed text while a questionnaire waits for an answer. Returns False if no questionnaire is open."""
    message = update.effective_message
    if message is None or message.text is None:
        return False
    deps = context.deps
    alarming = has_red_flags(message.text, deps.protocol)
    waiting = await checkins.in_progress(session, patient=patient)
    if waiting is not None and waiting.form is FormKind.CHECKIN and consent_pending(patient, deps.protocol):
        if alarming:  # words that mean danger are never held back by a pending consent
            await on_patient_words(update, context, patient, session)
        else:  # nor is an answer that means danger (40 °C typed)
            await checkins.alarm_for_held_answer(
                session, patient=patient, response=waiting, text=message.text[:1000], protocol=deps.protocol,
                now=deps.clock.now(),
            )  # fmt: skip
        await consent_first(message, patient, session, context)
        return True
    free_text = (
        waiting is not None and waiting.current_item is not None and ITEMS[waiting.current_item].kind is Kind.TEXT
    )
    step = await checkins.type_answer(
        session, patient=patient, text=message.text[:1000], protocol=deps.protocol, now=deps.clock.now()
    )
    if step is None:
        return False
    if isinstance(step, AskItem) and step.problem:
        if alarming:  # not an answer, but words that mean danger
            await on_patient_words(update, context, patient, session)
            return True
        _ = patient_gettext(patient)
        await message.reply_text(
            "⚠️ " + _(step.problem).format(minimum=f"{step.item.minimum:g}", maximum=f"{step.item.maximum:g}")
        )
        return True
    if step.message_id is not None:  # the question answered by typing loses its buttons
        await message.get_bot().edit_message_reply_markup(message.chat_id, step.message_id, reply_markup=None)
    await show(message, patient, step, session)
    if alarming and free_text:  # kept as the answer (e.g. the organism), and still words that mean danger
        await on_patient_words(update, context, patient, session)
    return True
