"""Telegram handlers: parse the update, call one service, reply with translated text. No SQL here.

`register_handlers` is the one ordered list of everything the bot answers.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.callbacks import (
    Alert,
    AlertsPage,
    ChooseLanguage,
    Consent,
    Dose,
    InfectionForm,
    OverduePage,
    ReminderTime,
    StartCheckin,
    StartReport,
    Stop,
    pattern,
)
from handlers.common import (
    NEW_MESSAGE,
    PRIVATE,
    answer_unknown_button,
    drop_repeated_update,
    ignore_outside_private_chats,
    on_error,
    tell_update_failed,
)
from handlers.context import BotApplication
from handlers.patient import commands, doses, membership, onboarding, questionnaire
from handlers.staff import alerts, console, coordination, overdue


def register_handlers(application: BotApplication) -> None:
    application.add_handler(TypeHandler(Update, ignore_outside_private_chats), group=-3)
    application.add_handler(TypeHandler(Update, drop_repeated_update), group=-2)

    messages = PRIVATE & NEW_MESSAGE
    application.add_handlers(
        [
            CommandHandler("start", onboarding.start, filters=messages),
            CommandHandler("checkin", questionnaire.checkin, filters=messages),
            CommandHandler("report", questionnaire.report, filters=messages),
            CommandHandler("doses", commands.doses, filters=messages),
            CommandHandler("time", commands.change_time, filters=messages),
            CommandHandler("language", commands.language, filters=messages),
            CommandHandler("help", commands.help_command, filters=messages),
            CommandHandler("stop", commands.stop, filters=messages),
            CommandHandler("alerts", alerts.alerts_command, filters=messages),
            CommandHandler("status", coordination.status_command, filters=messages),
            CommandHandler("export", coordination.export_command, filters=messages),
            CommandHandler("overdue", overdue.overdue_command, filters=messages),
            CommandHandler("web", console.web_command, filters=messages),
            CallbackQueryHandler(onboarding.on_consent, pattern=pattern(Consent)),
            CallbackQueryHandler(onboarding.on_time_chosen, pattern=pattern(ReminderTime)),
            CallbackQueryHandler(
                questionnaire.on_questionnaire_button, pattern=pattern(*questionnaire.QUESTIONNAIRE_TAPS)
            ),
            CallbackQueryHandler(questionnaire.on_start_button, pattern=pattern(StartCheckin)),
            CallbackQueryHandler(questionnaire.on_report_button, pattern=pattern(StartReport)),
            CallbackQueryHandler(doses.on_dose_button, pattern=pattern(Dose)),
            CallbackQueryHandler(commands.on_language, pattern=pattern(ChooseLanguage)),
            CallbackQueryHandler(commands.on_stop, pattern=pattern(Stop)),
            CallbackQueryHandler(alerts.on_escalation_button, pattern=pattern(Alert)),
            CallbackQueryHandler(alerts.on_infection_button, pattern=pattern(InfectionForm)),
            CallbackQueryHandler(alerts.on_alerts_page, pattern=pattern(AlertsPage)),
            CallbackQueryHandler(overdue.on_overdue_page, pattern=pattern(OverduePage)),
            CallbackQueryHandler(answer_unknown_button),
            ChatMemberHandler(membership.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(messages & filters.COMMAND, commands.help_command),
            MessageHandler(messages & filters.TEXT, commands.on_text),
            MessageHandler(messages & ~filters.TEXT, commands.on_other_message),
        ]
    )
    application.add_error_handler(on_error)
    application.on_update_failed = tell_update_failed
