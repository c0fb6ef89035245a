"""/start with an enrollment code, consent, and the reminder time."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update

from bot.callbacks import Button, Consent, ReminderTime
from bot.i18n import N_, Gettext, clock, gettext_for, joined, language_from_telegram, long_date, short_date
from bot.services import onboarding
from bot.services.checkins import next_checkin_due
from bot.services.consent import consent_buttons, consent_text, pending_here, renew_consent
from bot.services.doses import upcoming_doses
from bot.services.onboarding import FIRST_REMINDER_TIME, REMINDER_TIME, CodeProblem, LinkedStaff
from bot.services.safety import emergency_line
from bot.services.sites import site_of
from handlers.context import BotContext
from handlers.patient.access import HELP_FOR_STRANGERS, patient_button
from handlers.render import keyboard
from handlers.staff.alerts import staff_help
from handlers.staff.start import welcome_staff
from models import Group, Patient, PatientStatus, Site

LEFT_THE_STUDY = N_(
    "Done: you have left the study. No more information about you will be collected for it. Thank you for "
    "your help with this study. Please tell your doctor at your next visit."
)
TIME_CHOICES = tuple(time(hour) for hour in (8, 9, 12, 18, 20, 21))
CODE_PROBLEMS = {
    CodeProblem.UNKNOWN: N_("This link is not valid. Please check it, or ask your study coordinator for a new one."),
    CodeProblem.EXPIRED: N_("This link has expired. Please ask your study coordinator for a new one."),
    CodeProblem.USED: N_("This link has already been used. Please ask your study coordinator for a new one."),
    CodeProblem.CHAT_TAKEN: N_(
        "This Telegram account is already linked to the study. Please ask your study coordinator for help."
    ),
    CodeProblem.ENDED: N_("Your follow-up in this study has ended. Thank you for taking part."),
}


def patient_gettext(patient: Patient) -> Gettext:
    return gettext_for(patient.language)


async def start(update: Update, context: BotContext) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    deps = context.deps
    code = context.args[0] if context.args else ""
    _ = context.gettext  # the patient's language if the chat is a patient's already, else the Telegram app's
    async with deps.session() as session:
        if not code:
            staff = await context.staff()
            patient = await context.patient()
            if staff is not None:
                await staff_help(message, staff)
            elif patient is None:
                await message.reply_text(_(HELP_FOR_STRANGERS))
            elif patient.status is PatientStatus.ENROLLED:
                await ask_consent(message, patient, await site_of(session, site_id=patient.site_id), context)
            else:
                await greet(message, patient, session, context)
            return
        if not deps.code_attempts_left(chat.id):
            await message.reply_text(
                _("Too many wrong links. Please wait an hour, or ask your study coordinator for a new link.")
            )
            return
        user = update.effective_user
        result = await onboarding.redeem(
            session,
            code=code,
            chat_id=chat.id,
            now=deps.clock.now(),
            language=language_from_telegram(user.language_code if user else None),
        )
        if isinstance(result, CodeProblem):
            if result is CodeProblem.UNKNOWN:
                deps.wrong_code(chat.id)
            await message.reply_text(_(CODE_PROBLEMS[result]))
        elif isinstance(result, LinkedStaff):
            await welcome_staff(message, result, _)
        elif result.patient.status is PatientStatus.ENROLLED:
            await ask_consent(message, result.patient, result.site, context)
        else:
            await greet(message, result.patient, session, context)


async def ask_consent(
    message: Message, patient: Patient, site: Site, context: BotContext, *, changed: bool = False
) -> None:
    """The consent screen; `changed`: asked again because the protocol names a new consent version."""
    _ = patient_gettext(patient)
    text = consent_text(_, patient=patient, site=site, protocol=context.deps.protocol, changed=changed)
    rows = consent_buttons(_)
    await message.reply_text(text, reply_markup=keyboard(rows))


async def consent_first(message: Message, patient: Patient, session: AsyncSession, context: BotContext) -> bool:
    """Consent to a new consent version is pending: the consent screen is shown (True) and nothing is collected
    until the patient agrees (bot.services.consent). False: go on."""
    deps = context.deps
    if not await pending_here(session, patient=patient, protocol=deps.protocol, now=deps.clock.now()):
        return False
    await ask_consent(message, patient, await site_of(session, site_id=patient.site_id), context, changed=True)
    return True


def time_keyboard() -> InlineKeyboardMarkup:
    return keyboard(
        [
            [Button(f"{choice:%H:%M}", ReminderTime(choice)) for choice in TIME_CHOICES[:3]],
            [Button(f"{choice:%H:%M}", ReminderTime(choice)) for choice in TIME_CHOICES[3:]],
        ]
    )


def ask_time_text(patient: Patient) -> str:
    _ = patient_gettext(patient)
    return _("At what time of day should I remind you? Tap a time, or type one like 07:30. (Now: {time})").format(
        time=clock(patient.reminder_time)
    )


@patient_button(Consent, active=False)
async def on_consent(
    query: CallbackQuery, message: Message, tap: Consent, patient: Patient, context: BotContext
) -> None:
    await query.answer()
    agree = tap.agree
    deps = context.deps
    async with deps.session() as session:
        if patient.status is PatientStatus.ACTIVE:
            await _on_renewed_consent(query, patient, agree, session, context)
            return
        if not await onboarding.give_consent(
            session,
            patient=patient,
            agree=agree,
            now=deps.clock.now(),
            version=deps.protocol.enrollment.consent_version,
            shown_text=message.text,
        ):
            return  # a second tap on the same keyboard
        _ = patient_gettext(patient)
        choice = _("I agree") if agree else _("I do not agree")
        await query.edit_message_text(f"{message.text}\n\n✔ {choice}")
        if agree:
            await message.reply_text(ask_time_text(patient), reply_markup=time_keyboard())
        else:
            await message.reply_text(
                _(
                    "Thank you for telling us. You will not get any more messages from this study. "
                    "If you change your mind, please talk to your study team."
                )
            )


async def _on_renewed_consent(
    query: CallbackQuery, patient: Patient, agree: bool, session: AsyncSession, context: BotContext
) -> None:
    """The answer to the consent screen of a new consent version (bot.services.consent)."""
    assert isinstance(query.message, Message)
    shown = query.message.text or ""
    if not await renew_consent(
        session,
        patient=patient,
        agree=agree,
        shown_text=shown,
        protocol=context.deps.protocol,
        now=context.deps.clock.now(),
    ):
        return  # nothing pending: a second tap
    _ = patient_gettext(patient)
    choice = _("I agree") if agree else _("I do not agree")
    await query.edit_message_text(f"{shown}\n\n✔ {choice}")
    if agree:
        await query.message.reply_text(_("Thank you. Your study follow-up goes on as before."))
    else:
        await query.message.reply_text(_(LEFT_THE_STUDY))


@patient_button(ReminderTime, active=False)
async def on_time_chosen(
    query: CallbackQuery, message: Message, tap: ReminderTime, patient: Patient, context: BotContext
) -> None:
    await query.answer()
    if patient.awaiting not in (FIRST_REMINDER_TIME, REMINDER_TIME):
        return
    async with context.deps.session() as session:
        await query.edit_message_reply_markup(reply_markup=None)
        await save_time(message, patient, tap.at, session, context)


async def save_time(
    message: Message, patient: Patient, chosen: time, session: AsyncSession, context: BotContext
) -> None:
    deps = context.deps
    first = patient.awaiting == FIRST_REMINDER_TIME
    await onboarding.set_reminder_time(
        session, patient=patient, reminder_time=chosen, protocol=deps.protocol, now=deps.clock.now()
    )
    _ = patient_gettext(patient)
    await message.reply_text(_("Your reminder time is now {time}.").format(time=clock(chosen)))
    if first:
        await greet(message, patient, session, context)


async def greet(message: Message, patient: Patient, session: AsyncSession, context: BotContext) -> None:
    """The welcome: what happens next, in the patient's language and time zone."""
    _ = patient_gettext(patient)
    language = patient.language
    if patient.status is not PatientStatus.ACTIVE:
        await message.reply_text(_(CODE_PROBLEMS[CodeProblem.ENDED]))
        return
    now = context.deps.clock.now()
    lines = [_("Welcome! Everything is set up.")]
    due = await next_checkin_due(session, patient=patient, now=now)
    if due is not None:
        local = due.astimezone(ZoneInfo(patient.timezone))
        lines.append(
            _("Your next monthly check-in: {date} at {time}.").format(
                date=long_date(local.date(), language), time=clock(local.time())
            )
        )
    if patient.group is Group.IL2:
        doses = await upcoming_doses(session, patient=patient, now=now, limit=3)
        if doses:
            lines.append(
                _("Your next IL-2 doses ({dose}): {days}. I will remind you on each of these days.").format(
                    dose=context.deps.protocol.dose_regimen.text.for_language(language),
                    days=joined([short_date(dose.planned_date, language) for dose in doses], language),
                )
            )
    lines.append(_("If you feel unwell at any time, send /report. For help, send /help."))
    site = await site_of(session, site_id=patient.site_id)
    lines.append(emergency_line(_, site=site, protocol=context.deps.protocol))
    await message.reply_text("\n\n".join(lines))
