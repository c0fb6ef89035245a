"""A patient's own words outside a question (text, voice, photos, stickers…): recorded, answered kindly with a
one-tap "I feel unwell now" and the emergency numbers, and shown to the site team. See
bot.services.patient_messages for what is stored and when the alarm is raised."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update

from bot.callbacks import Button, StartReport
from bot.i18n import Gettext
from bot.services import onboarding
from bot.services.patient_messages import receive_message
from bot.services.safety import emergency_line
from bot.services.sites import site_of
from handlers.context import BotContext
from handlers.patient.onboarding import CODE_PROBLEMS, patient_gettext
from handlers.render import keyboard
from models import MessageKind, Patient, PatientStatus

TEXT_LIMIT = 4000


def unwell_keyboard(_: Gettext) -> InlineKeyboardMarkup:
    return keyboard([[Button("🆘 " + _("I feel unwell now"), StartReport())]])  # the same as /report


def message_kind(message: Message) -> MessageKind:
    if message.text is not None:
        return MessageKind.TEXT
    if message.voice is not None:
        return MessageKind.VOICE
    if message.audio is not None:
        return MessageKind.AUDIO
    if message.photo:
        return MessageKind.PHOTO
    if message.video is not None or message.video_note is not None:
        return MessageKind.VIDEO
    if message.sticker is not None:
        return MessageKind.STICKER
    if message.document is not None:
        return MessageKind.DOCUMENT
    return MessageKind.OTHER


async def on_patient_words(update: Update, context: BotContext, patient: Patient, session: AsyncSession) -> None:
    """Record what the patient sent and answer. With red flags the urgent advice is on its way through the
    outbox (it ends with "your study team has been told"), so nothing is added here: it comes first, alone."""
    message = update.effective_message
    if message is None:
        return
    deps = context.deps
    kind = message_kind(message)
    received = await receive_message(
        session,
        patient=patient,
        kind=kind,
        text=(message.text or "")[:TEXT_LIMIT] if kind is MessageKind.TEXT else None,
        telegram_message_id=message.message_id,
        protocol=deps.protocol,
        now=deps.clock.now(),
    )
    if received.alarm:
        return
    _ = patient_gettext(patient)
    numbers = emergency_line(_, site=await site_of(session, site_id=patient.site_id), protocol=deps.protocol)
    if patient.status is PatientStatus.ACTIVE:
        thanks = (
            _("Thank you for your message. Your study team will see it.")
            if kind is MessageKind.TEXT
            else _("Thank you. I cannot listen to or look at this here, but your study team will see that you sent it.")
        )
        text = "\n\n".join([thanks, _("If you feel unwell now, tap the button below."), numbers])
        await message.reply_text(text, reply_markup=unwell_keyboard(_))
        return
    if patient.status is PatientStatus.ENROLLED:
        first = _("Please answer the question above first (I agree / I do not agree). Send /start to see it again.")
    elif received.message is not None:
        first = _("Your follow-up in this study has ended, but your study team will see your message.")
    else:
        first = _(CODE_PROBLEMS[onboarding.CodeProblem.ENDED])
    await message.reply_text("\n\n".join([first, numbers]))


async def unwell_outside_follow_up(update: Update, context: BotContext) -> bool:
    """/report (or the "I feel unwell now" button) from someone whose follow-up ended or who did not consent:
    the urgent advice (through the outbox) and the site team is told; no study questions. False for anyone
    else (an active patient gets the report form; a stranger the usual help)."""
    message = update.effective_message
    patient = await context.patient()
    if message is None or patient is None or patient.status is PatientStatus.ACTIVE:
        return False
    deps = context.deps
    async with deps.session() as session:
        await receive_message(
            session,
            patient=patient,
            kind=MessageKind.TEXT,
            text="/report",
            telegram_message_id=message.message_id,
            protocol=deps.protocol,
            now=deps.clock.now(),
            unwell=True,
        )
    return True
