"""/start with an enrollment code, consent, and the reminder time."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update

from bot.app import BotContext
from bot.i18n import N_, Gettext, clock, gettext_for, joined, language_from_telegram, long_date, short_date
from bot.plan import parse_clock_time
from bot.services import onboarding
from bot.services.checkins import next_checkin_due
from bot.services.consent import consent_choices, consent_text, renew_consent
from bot.services.doses import upcoming_doses
from bot.services.onboarding import FIRST_REMINDER_TIME, REMINDER_TIME, CodeProblem, LinkedStaff
from bot.services.safety import emergency_line
from handlers.common import stranger_gettext
from handlers.render import button, keyboard
from handlers.staff.alerts import staff_help
from handlers.staff.start import welcome_staff
from models import Group, Patient, PatientStatus, Site

LEFT_THE_STUDY = N_(
    "Done: you have left the study. No more information about you will be collected for it. Thank you for "
    "your help with this study. Please tell your doctor at your next visit."
)
TIME_CHOICES = ("08:00", "09:00", "12:00", "18:00", "20:00", "21:00")
HELP_FOR_STRANGERS = N_(
    "This bot is only for people taking part in the IL-2 lupus study. If you take part, please open the "
    "personal link your study coordinator gave you."
)
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
    _ = stranger_gettext(update)
    async with deps.session() as session:
        if not code:
            patient = await onboarding.patient_for_chat(session, chat_id=chat.id)
            staff = await onboarding.staff_for_user(session, user_id=chat.id)
            if staff is not None:
                await staff_help(message, staff)
            elif patient is None:
                await message.reply_text(_(HELP_FOR_STRANGERS))
            elif patient.status is PatientStatus.ENROLLED:
                await ask_consent(message, patient, await session.get_one(Site, patient.site_id), context)
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
    rows = [[button(label, data)] for label, data in consent_choices(_)]
    await message.reply_text(text, reply_markup=keyboard(rows))


def time_keyboard() -> InlineKeyboardMarkup:
    return keyboard(
        [
            [button(choice, f"time|{choice}") for choice in TIME_CHOICES[:3]],
            [button(choice, f"time|{choice}") for choice in TIME_CHOICES[3:]],
        ]
    )


def ask_time_text(patient: Patient) -> str:
    _ = patient_gettext(patient)
    return _("At what time of day should I remind you? Tap a time, or type one like 07:30. (Now: {time})").format(
        time=clock(patient.reminder_time)
    )


async def on_consent(update: Update, context: BotContext) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or not isinstance(query.message, Message):
        return
    await query.answer()
    agree = query.data == "consent|yes"
    deps = context.deps
    async with deps.session() as session:
        patient = await onboarding.patient_for_chat(session, chat_id=chat.id)
        if patient is None:
            return
        if patient.status is PatientStatus.ACTIVE:
            await _on_renewed_consent(query, patient, agree, session, context)
            return
        if not await onboarding.give_consent(
            session,
            patient=patient,
            agree=agree,
            now=deps.clock.now(),
            version=deps.protocol.enrollment.consent_version,
            shown_text=query.message.text,
        ):
            return  # a second tap on the same keyboard
        _ = patient_gettext(patient)
        choice = _("I agree") if agree else _("I do not agree")
        await query.edit_message_text(f"{query.message.text}\n\n✔ {choice}")
        if agree:
            await query.message.reply_text(ask_time_text(patient), reply_markup=time_keyboard())
        else:
            await query.message.reply_text(
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


async def on_time_chosen(update: Update, context: BotContext) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None or query.data is None or chat is None or not isinstance(query.message, Message):
        return
    await query.answer()
    chosen = parse_clock_time(query.data.removeprefix("time|"))
    async with context.deps.session() as session:
        patient = await onboarding.patient_for_chat(session, chat_id=chat.id)
        if chosen is None or patient is None or patient.awaiting not in (FIRST_REMINDER_TIME, REMINDER_TIME):
            return
        await query.edit_message_reply_markup(reply_markup=None)
        await save_time(query.message, patient, chosen, session, context)


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
    site = await session.get_one(Site, patient.site_id)
    lines.append(emergency_line(_, site=site, protocol=context.deps.protocol))
    await message.reply_text("\n\n".join(lines))
