"""The composition root: builds the python-telegram-bot Application and registers every handler, in order."""

from __future__ import annotations

import os
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats
from telegram.ext import ApplicationBuilder, ContextTypes
from telegram.request import HTTPXRequest

from bot.clock import Clock
from bot.config import Settings
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import TelegramSender
from bot.i18n import N_, SOURCE_LANGUAGE, gettext_for, languages, languages_line, telegram_language
from bot.protocol import StudyProtocol
from bot.scheduler import Jobs, RunningJobs, start_scheduler
from bot.update_processor import ACTIVE_UPDATES, ChatOrderedUpdateProcessor
from handlers import register_handlers
from handlers.context import AnyApplication, BotApplication, BotContext, Deps

__all__ = ["BotApplication", "Deps", "build_application", "patient_menu"]

# Connections to the Bot API for the updates: two calls at once for each update handled at once. Each time a
# request starts or ends, httpcore looks at every open connection (two system calls for each idle one): with
# python-telegram-bot's default pool (256), which grows to a connection per request in flight, that cost more
# than the requests themselves with 32 updates at once. The outbox sends through a Bot of its own
# (`outbox_bot`), so a slow send never holds a connection a patient's tap needs. A call waits up to
# BOT_API_POOL_WAIT seconds for a free connection.
BOT_API_CONNECTIONS = 2 * ACTIVE_UPDATES
BOT_API_POOL_WAIT = 10.0


def outbox_bot(settings: Settings) -> Bot:
    """The outbox's Bot: its own connections, one for each send the dispatcher makes at once."""
    request = HTTPXRequest(connection_pool_size=Dispatcher.concurrency, pool_timeout=BOT_API_POOL_WAIT)
    return Bot(settings.require_token(), base_url=settings.telegram_api_url, request=request)


PATIENT_COMMANDS = (
    ("checkin", N_("Answer this month's questions")),
    ("report", N_("I feel unwell now")),
    ("doses", N_("My IL-2 doses")),
    ("time", N_("Change my reminder time")),
    ("language", None),  # every language by its own name
    ("help", N_("Help and my study team's phone")),
    ("stop", N_("Stop taking part")),
)


def patient_menu(language: str) -> list[BotCommand]:
    _ = gettext_for(language)
    return [BotCommand(name, _(text) if text else languages_line()) for name, text in PATIENT_COMMANDS]


async def _set_commands(application: AnyApplication) -> None:
    """The patients' menu in each language (Telegram shows the one for the user's app language), and the
    msgids' language for everybody else."""
    scope = BotCommandScopeAllPrivateChats()
    await application.bot.set_my_commands(patient_menu(SOURCE_LANGUAGE), scope=scope)
    for language in languages():
        await application.bot.set_my_commands(
            patient_menu(language), scope=scope, language_code=telegram_language(language)
        )


def active_updates(sessions: async_sessionmaker[AsyncSession]) -> int:
    """SQLite has one writer at a time: concurrent updates would only queue for it (and, past its busy timeout,
    fail), so they run one at a time there. PostgreSQL takes them concurrently."""
    bind = sessions.kw.get("bind")
    return 1 if bind is None or bind.dialect.name == "sqlite" else ACTIVE_UPDATES


def build_application(
    *,
    settings: Settings,
    protocol: StudyProtocol,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    with_jobs: bool = False,
) -> BotApplication:
    """The bot. With `with_jobs`, the scheduler's jobs run in its event loop and send through its Bot."""
    # Durations as timedelta: python-telegram-bot's future default, chosen now so no deprecation fires.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    scheduler: list[RunningJobs] = []
    senders: list[Bot] = []

    async def on_start(application: AnyApplication) -> None:
        await _set_commands(application)
        if with_jobs:
            sending = outbox_bot(settings)
            await sending.initialize()
            senders.append(sending)
            dispatcher = Dispatcher(
                sessions=sessions,
                sender=TelegramSender(sending),
                clock=clock,
                limiter=RateLimiter(clock=clock, per_second=settings.global_rate_per_second),
            )
            jobs = Jobs(sessions=sessions, protocol=protocol, clock=clock, dispatcher=dispatcher)
            scheduler.append(start_scheduler(jobs, tick_seconds=settings.tick_seconds))

    async def on_stop(_application: AnyApplication) -> None:
        for running in scheduler:
            await running.stop()
        for sending in senders:
            await sending.shutdown()

    application = cast(
        BotApplication,
        ApplicationBuilder()
        .application_class(BotApplication)
        .token(settings.require_token())
        .base_url(settings.telegram_api_url)
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(ChatOrderedUpdateProcessor(active=active_updates(sessions)))
        .connection_pool_size(BOT_API_CONNECTIONS)
        .pool_timeout(BOT_API_POOL_WAIT)
        .post_init(on_start)
        .post_stop(on_stop)
        .build(),
    )
    application.bot_data["deps"] = Deps(settings=settings, protocol=protocol, clock=clock, sessions=sessions)
    register_handlers(application)
    return application
