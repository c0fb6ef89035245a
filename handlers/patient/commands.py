"""/doses, /time, /language, /help, /stop, and what to say to people who are not (or no longer) taking part."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import Message, Update

from bot.app import BotContext
from bot.forms import labelled
from bot.i18n import N_, clock, gettext_for, language_name, languages, languages_line, short_date
from bot.plan import parse_clock_time
from bot.services import onboarding
from bot.services.doses import recent_doses, upcoming_doses
from bot.services.notices import tell_coordinators
from bot.services.patient_messages import has_red_flags
from bot.services.patient_status import WithdrawalKind, withdraw
from bot.services.safety import emergency_line
from handlers.common import stranger_gettext
from handlers.patient.access import active_patient, not_active, patient_or_explain
from handlers.patient.messages import on_patient_words
from handlers.patient.onboarding import (
    HELP_FOR_STRANGERS,
    LEFT_THE_STUDY,
    ask_time_text,
    patient_gettext,
    save_time,
    time_keyboard,
)
from handlers.patient.questionnaire import on_typed_answer
from handlers.render import button, keyboard
from handlers.staff.alerts import current_staff, on_staff_text, staff_help
from models import ContactStatus, Group, PatientStatus, Site

DOSE_STATUS = {
    ContactStatus.TAKEN: N_("taken"),
    ContactStatus.SKIPPED: N_("skipped"),
    ContactStatus.UNCONFIRMED: N_("not confirmed"),
    ContactStatus.MISSED: N_("not confirmed"),
    ContactStatus.PAUSED: N_("no reminder: your study team was looking at your report"),
}


CHOOSE_LANGUAGE = N_("Choose your language")


async def doses(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return

    deps = context.deps
    async with deps.session() as session:
        patient = await patient_or_explain(update, context, session)
        if patient is None:
            return
        _ = patient_gettext(patient)
        language = patient.language
        if patient.group is not Group.IL2:
            await message.reply_text(_("You have no IL-2 doses in this study."))
            return
        ahead = await upcoming_doses(session, patient=patient, now=deps.clock.now(), limit=5)
        behind = await recent_doses(session, patient=patient, limit=5)
        lines = [_("IL-2: {dose}").format(dose=deps.protocol.dose_regimen.text.for_language(language))]
        zone = ZoneInfo(patient.timezone)
        if ahead:
            lines.append(_("Next doses:"))
            lines += [
                f"• {short_date(row.planned_date, language)} {clock(row.due_at.astimezone(zone).time())}"
                for row in ahead
            ]
        else:
            lines.append(
                _(
                    "No more IL-2 injections are planned for now. Your study doctor decides whether you have more. "
                    "Keep taking your other medicines as your doctor told you."
                )
            )
        if behind:
            lines.append(_("Recent doses:"))
            lines += [
                "• " + labelled(short_date(row.planned_date, language), _(DOSE_STATUS[row.status]), _) for row in behind
            ]
        await message.reply_text("\n".join(lines))


async def change_time(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return

    async with context.deps.session() as session:
        patient = await patient_or_explain(update, context, session)
        if patient is None:
            return
        await onboarding.await_input(
            session, patient=patient, what=onboarding.REMINDER_TIME, now=context.deps.clock.now()
        )
        await message.reply_text(ask_time_text(patient), reply_markup=time_keyboard())


async def language(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    rows = [[button(language_name(code), f"lang|{code}") for code in languages()]]
    ask = " / ".join(dict.fromkeys(gettext_for(code)(CHOOSE_LANGUAGE) for code in languages()))
    await message.reply_text(ask, reply_markup=keyboard(rows))


async def on_language(update: Update, context: BotContext) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None or query.data is None or chat is None:
        return
    await query.answer()
    chosen = query.data.removeprefix("lang|")
    if chosen not in languages():
        return
    async with context.deps.session() as session:
        patient = await onboarding.patient_for_chat(session, chat_id=chat.id)
        if patient is None:
            return
        await onboarding.set_language(session, patient=patient, language=chosen, now=context.deps.clock.now())
        _ = patient_gettext(patient)
        await query.edit_message_text(_("From now on I will write in English."))


async def help_command(update: Update, context: BotContext) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    async with context.deps.session() as session:
        staff = await current_staff(update, session)
        if staff is not None:
            await staff_help(message, staff)
            return
        patient = await onboarding.patient_for_chat(session, chat_id=chat.id)
        if patient is None:
            await message.reply_text(stranger_gettext(update)(HELP_FOR_STRANGERS))
            return
        site = await session.get_one(Site, patient.site_id)
    _ = patient_gettext(patient)
    lines = [
        _("Your study team: {site}.").format(site=site.name),
        _("If you feel very unwell, go to the emergency department or call your study team. Do not wait for this bot."),
        emergency_line(_, site=site, protocol=context.deps.protocol),
        "",
        _("/checkin – answer this month's questions"),
        _("/report – tell us you feel unwell now"),
        _("/doses – your IL-2 doses"),
        _("/time – change your reminder time"),
        _("/language – choose your language: {languages}").format(languages=languages_line()),
        _("/stop – stop taking part"),
    ]
    await message.reply_text("\n".join(lines))


STOP_CHOICES = {
    "stop|contact": WithdrawalKind.STOP_CONTACT,
    "stop|consent": WithdrawalKind.WITHDRAW_CONSENT,
}
STOPPED = {
    WithdrawalKind.STOP_CONTACT: N_(
        "Done: the bot will send you no more questions or reminders. Your study doctors will still note how you "
        "are at your clinic visits. Thank you for your help with this study."
    ),
    WithdrawalKind.WITHDRAW_CONSENT: LEFT_THE_STUDY,
}
STOP_NOTICES = {
    WithdrawalKind.STOP_CONTACT: N_(
        "{study_id} asked for no more messages (/stop): follow-up continues at clinic visits only."
    ),
    WithdrawalKind.WITHDRAW_CONSENT: N_(
        "{study_id} withdrew consent through the bot (/stop): no more data may be collected."
    ),
}


async def stop(update: Update, context: BotContext) -> None:
    """/stop asks which of the two the patient means: no more messages, or leaving the study."""
    message = update.effective_message
    if message is None:
        return

    async with context.deps.session() as session:
        patient = await active_patient(update, session)
    if patient is None:
        await not_active(update, context)
        return
    _ = patient_gettext(patient)
    rows = [
        [button(_("Stop the messages only"), "stop|contact")],
        [button(_("Leave the study"), "stop|consent")],
        [button(_("No, continue"), "stop|no")],
    ]
    await message.reply_text(
        _(
            "What would you like to stop?\n\n"
            "• Stop the messages only: the bot sends you no more questions or reminders, and your study doctors "
            "still note how you are at your clinic visits.\n"
            "• Leave the study: from now on, no more information about you is collected for the study."
        ),
        reply_markup=keyboard(rows),
    )


async def on_stop(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    await query.answer()

    deps = context.deps
    async with deps.session() as session:
        patient = await active_patient(update, session)
        if patient is None:
            return
        _ = patient_gettext(patient)
        kind = STOP_CHOICES.get(query.data or "")
        if kind is None:
            await query.edit_message_text(_("Good, we continue. Thank you!"))
            return
        study_id = patient.study_id
        await tell_coordinators(
            session,
            site_id=patient.site_id,
            key=f"withdrawn:{patient.id}",
            now=deps.clock.now(),
            text=lambda staff_: staff_(STOP_NOTICES[kind]).format(study_id=study_id),
        )
        await withdraw(
            session,
            patient=patient,
            kind=kind,
            note="asked in Telegram (/stop)",
            actor=f"patient:{study_id}",
            now=deps.clock.now(),
        )
        await session.commit()
        await query.edit_message_text(_(STOPPED[kind]))


async def on_text(update: Update, context: BotContext) -> None:
    """Free text answers the prompt the patient saw last (a reminder time or a questionnaire item, see
    `onboarding.prompt_for_typed_text`); anything else is the patient's own words, never ignored."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    async with context.deps.session() as session:
        staff = await current_staff(update, session)
        if staff is not None:
            await on_staff_text(update, context, staff, session)
            return
        patient = await onboarding.patient_for_chat(session, chat_id=chat.id)
        if patient is None:
            await message.reply_text(stranger_gettext(update)(HELP_FOR_STRANGERS))
            return
        if patient.status is not PatientStatus.ACTIVE:
            await on_patient_words(update, context, patient, session)
            return
        prompt = await onboarding.prompt_for_typed_text(session, patient=patient)
        if prompt is onboarding.Prompt.REMINDER_TIME:
            chosen = parse_clock_time(message.text or "")
            if chosen is not None:
                await save_time(message, patient, chosen, session, context)
            elif has_red_flags(message.text or "", context.deps.protocol):
                await on_patient_words(update, context, patient, session)
            else:
                _ = patient_gettext(patient)
                await message.reply_text(_("Please tap a time, or type one like 07:30."), reply_markup=time_keyboard())
            return
        if prompt is onboarding.Prompt.QUESTION and await on_typed_answer(update, context, patient, session):
            return
        await on_patient_words(update, context, patient, session)


async def on_other_message(update: Update, context: BotContext) -> None:
    """Voice, photos, stickers, files: the bot cannot read them, but the site team sees that they came."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    async with context.deps.session() as session:
        patient = await onboarding.patient_for_chat(session, chat_id=chat.id)
        if patient is None:
            _ = stranger_gettext(update)
            await message.reply_text(
                _("Sorry, I can only read text and button taps. Please tap a button or type your answer.")
            )
            return
        await on_patient_words(update, context, patient, session)
