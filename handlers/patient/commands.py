"""/doses, /time, /language, /help, /stop, and what to say to people who are not (or no longer) taking part."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import CallbackQuery, Message, Update

from bot.callbacks import Button, ChooseLanguage, Stop, StopChoice
from bot.forms import labelled
from bot.i18n import N_, clock, gettext_for, language_name, languages, languages_line, short_date
from bot.plan import parse_clock_time
from bot.services import onboarding
from bot.services.doses import recent_doses, upcoming_doses
from bot.services.patient_messages import has_red_flags
from bot.services.patient_status import WithdrawalKind, stop_in_telegram
from bot.services.safety import emergency_line
from bot.services.typed_text import QuestionText, ReminderTimeText, awaited_from_patient
from handlers.context import BotContext
from handlers.patient.access import HELP_FOR_STRANGERS, patient_and_site, patient_button, patient_command
from handlers.patient.messages import on_patient_words
from handlers.patient.onboarding import LEFT_THE_STUDY, ask_time_text, save_time, time_keyboard
from handlers.patient.questionnaire import on_typed_answer
from handlers.render import keyboard
from handlers.staff.alerts import on_staff_text, staff_help
from models import ContactStatus, Group, Patient, PatientStatus

DOSE_STATUS = {
    ContactStatus.TAKEN: N_("taken"),
    ContactStatus.SKIPPED: N_("skipped"),
    ContactStatus.UNCONFIRMED: N_("not confirmed"),
    ContactStatus.MISSED: N_("not confirmed"),
    ContactStatus.PAUSED: N_("no reminder: your study team was looking at your report"),
}


CHOOSE_LANGUAGE = N_("Choose your language")


@patient_command
async def doses(message: Message, patient: Patient, context: BotContext) -> None:
    deps = context.deps
    _ = context.gettext
    async with deps.session() as session:
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


@patient_command
async def change_time(message: Message, patient: Patient, context: BotContext) -> None:
    async with context.deps.session() as session:
        await onboarding.await_input(
            session, patient=patient, what=onboarding.REMINDER_TIME, now=context.deps.clock.now()
        )
        await message.reply_text(ask_time_text(patient), reply_markup=time_keyboard())


async def language(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    rows = [[Button(language_name(code), ChooseLanguage(code)) for code in languages()]]
    ask = " / ".join(dict.fromkeys(gettext_for(code)(CHOOSE_LANGUAGE) for code in languages()))
    await message.reply_text(ask, reply_markup=keyboard(rows))


@patient_button(ChooseLanguage, active=False)
async def on_language(
    query: CallbackQuery, _message: Message, tap: ChooseLanguage, patient: Patient, context: BotContext
) -> None:
    await query.answer()
    async with context.deps.session() as session:
        await onboarding.set_language(session, patient=patient, language=tap.language, now=context.deps.clock.now())
    _ = gettext_for(tap.language)  # the language just chosen
    await query.edit_message_text(_("From now on I will write in English."))


async def help_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None:
        return
    staff = await context.staff()
    if staff is not None:
        await staff_help(message, staff)
        return
    known = await patient_and_site(message, context)
    if known is None:
        return
    _patient, site = known
    _ = context.gettext
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


STOP_KINDS = {StopChoice.CONTACT: WithdrawalKind.STOP_CONTACT, StopChoice.CONSENT: WithdrawalKind.WITHDRAW_CONSENT}
STOPPED = {
    WithdrawalKind.STOP_CONTACT: N_(
        "Done: the bot will send you no more questions or reminders. Your study doctors will still note how you "
        "are at your clinic visits. Thank you for your help with this study."
    ),
    WithdrawalKind.WITHDRAW_CONSENT: LEFT_THE_STUDY,
}


@patient_command
async def stop(message: Message, patient: Patient, context: BotContext) -> None:
    """/stop asks which of the two the patient means: no more messages, or leaving the study."""
    _ = context.gettext
    rows = [
        [Button(_("Stop the messages only"), Stop(StopChoice.CONTACT))],
        [Button(_("Leave the study"), Stop(StopChoice.CONSENT))],
        [Button(_("No, continue"), Stop(StopChoice.NO))],
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


@patient_button(Stop)
async def on_stop(query: CallbackQuery, _message: Message, tap: Stop, patient: Patient, context: BotContext) -> None:
    await query.answer()
    _ = context.gettext
    kind = STOP_KINDS.get(tap.choice)
    if kind is None:
        await query.edit_message_text(_("Good, we continue. Thank you!"))
        return
    deps = context.deps
    async with deps.session() as session:
        await stop_in_telegram(session, patient=patient, kind=kind, now=deps.clock.now())
    await query.edit_message_text(_(STOPPED[kind]))


async def on_text(update: Update, context: BotContext) -> None:
    """Free text answers the prompt the patient saw last (a reminder time or a questionnaire item, see
    `bot.services.typed_text`); anything else is the patient's own words, never ignored."""
    message = update.effective_message
    if message is None:
        return
    staff = await context.staff()
    patient = None if staff is not None else await context.patient()
    async with context.deps.session() as session:
        if staff is not None:
            await on_staff_text(update, context, staff, session)
            return
        if patient is None:
            await message.reply_text(context.gettext(HELP_FOR_STRANGERS))
            return
        if patient.status is not PatientStatus.ACTIVE:
            await on_patient_words(update, context, patient, session)
            return
        awaited = await awaited_from_patient(session, patient=patient)
        if isinstance(awaited, ReminderTimeText):
            chosen = parse_clock_time(message.text or "")
            if chosen is not None:
                await save_time(message, patient, chosen, session, context)
            elif has_red_flags(message.text or "", context.deps.protocol):
                await on_patient_words(update, context, patient, session)
            else:
                await message.reply_text(
                    context.gettext("Please tap a time, or type one like 07:30."), reply_markup=time_keyboard()
                )
            return
        if isinstance(awaited, QuestionText) and await on_typed_answer(update, context, patient, session):
            return
        await on_patient_words(update, context, patient, session)


async def on_other_message(update: Update, context: BotContext) -> None:
    """Voice, photos, stickers, files: the bot cannot read them, but the site team sees that they came."""
    message = update.effective_message
    if message is None:
        return
    patient = await context.patient()
    if patient is None:
        await message.reply_text(
            context.gettext("Sorry, I can only read text and button taps. Please tap a button or type your answer.")
        )
        return
    async with context.deps.session() as session:
        await on_patient_words(update, context, patient, session)
