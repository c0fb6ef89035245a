"""The composition root: builds the python-telegram-bot Application and registers every handler, in order."""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import BotCommand, BotCommandScopeAllPrivateChats, Update
from telegram.ext import Application, ApplicationBuilder, CallbackContext, ContextTypes, ExtBot

from bot.clock import Clock
from bot.config import Settings
from bot.db import use_session
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import TelegramSender
from bot.i18n import N_, SOURCE_LANGUAGE, gettext_for, languages, languages_line, telegram_language
from bot.logs import log_failure
from bot.protocol import StudyProtocol
from bot.scheduler import Jobs, RunningJobs, start_scheduler
from bot.services.failed_updates import record_update_failure
from bot.update_processor import ACTIVE_UPDATES, ChatOrderedUpdateProcessor
from bot.update_scope import current_scope, update_scope

RETRY_DELAYS = (0.5, 2.0)  # seconds before the second and the third attempt at a failed update
WRONG_CODES_ALLOWED = 5
WRONG_CODE_WINDOW = timedelta(hours=1)


@dataclass
class Deps:
    """What handlers need besides the update. Built once, in `build_application`."""

    settings: Settings
    protocol: StudyProtocol
    clock: Clock
    sessions: async_sessionmaker[AsyncSession]
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # the pause before a failed update is handled again
    wrong_codes: dict[int, deque[datetime]] = field(default_factory=lambda: defaultdict(deque))

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """While an update is handled, its one session (see bot.update_scope); otherwise a new one."""
        scope = current_scope()
        return nullcontext(scope.session) if scope is not None else use_session(self.sessions)

    def code_attempts_left(self, chat_id: int) -> bool:
        """Five wrong codes within an hour lock a chat for the rest of that hour.

        Kept in memory only: nothing is stored about people who are not enrolled.
        """
        attempts = self.wrong_codes[chat_id]
        while attempts and attempts[0] <= self.clock.now() - WRONG_CODE_WINDOW:
            attempts.popleft()
        return len(attempts) < WRONG_CODES_ALLOWED

    def wrong_code(self, chat_id: int) -> None:
        self.wrong_codes[chat_id].append(self.clock.now())


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[str, Any]]):
    @property
    def deps(self) -> Deps:
        return cast(Deps, self.application.bot_data["deps"])


AnyApplication = Application[Any, Any, Any, Any, Any, Any]  # what python-telegram-bot's hooks are typed with


UpdateFailed = Callable[["BotApplication", Update], Awaitable[None]]


class BotApplication(Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], dict[str, Any], Any]):
    """python-telegram-bot's Application; each update is handled inside its own update scope.

    An update whose handling failed (see `bot.update_scope`) is handled again after a short pause, up to
    `GIVE_UP_AFTER` failures; each failure is counted in `failed_updates`, and when it is given up the person is
    told (`on_update_failed`, registered with the handlers)."""

    on_update_failed: UpdateFailed | None = None

    async def process_update(self, update: object) -> None:
        deps: Deps = self.bot_data["deps"]
        for delay in (*RETRY_DELAYS, None):
            async with update_scope(deps.sessions) as scope:
                await super().process_update(update)
            if scope.failure is None or not isinstance(update, Update):
                return
            gave_up = await self._count_failure(update, scope.failure)
            if gave_up or scope.marked or delay is None:
                if self.on_update_failed is not None:
                    await self.on_update_failed(self, update)
                return
            await deps.sleep(delay)

    async def _count_failure(self, update: Update, error: BaseException) -> bool:
        """Record one failure; True once the update is given up. A failure to record it is only logged."""
        deps: Deps = self.bot_data["deps"]
        kind = next((str(kind) for kind in Update.ALL_TYPES if getattr(update, kind, None) is not None), "other")
        try:
            async with deps.session() as session:
                failed = await record_update_failure(
                    session,
                    update_id=update.update_id,
                    update_type=kind,
                    error_type=type(error).__name__,
                    now=deps.clock.now(),
                )
        except Exception as recording_error:
            log_failure(f"recording the failure of update {update.update_id}", recording_error)
            return False
        return failed.gave_up_at is not None


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


def _active_updates(sessions: async_sessionmaker[AsyncSession]) -> int:
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
    from handlers import register_handlers

    # Durations as timedelta: python-telegram-bot's future default, chosen now so no deprecation fires.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    scheduler: list[RunningJobs] = []

    async def on_start(application: AnyApplication) -> None:
        await _set_commands(application)
        if with_jobs:
            dispatcher = Dispatcher(
                sessions=sessions,
                sender=TelegramSender(application.bot),
                clock=clock,
                limiter=RateLimiter(clock=clock, per_second=settings.global_rate_per_second),
            )
            jobs = Jobs(sessions=sessions, protocol=protocol, clock=clock, dispatcher=dispatcher)
            scheduler.append(start_scheduler(jobs, tick_seconds=settings.tick_seconds))

    async def on_stop(_application: AnyApplication) -> None:
        for running in scheduler:
            await running.stop()

    application = cast(
        BotApplication,
        ApplicationBuilder()
        .application_class(BotApplication)
        .token(settings.require_token())
        .base_url(settings.telegram_api_url)
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(ChatOrderedUpdateProcessor(active=_active_updates(sessions)))
        .post_init(on_start)
        .post_stop(on_stop)
        .build(),
    )
    application.bot_data["deps"] = Deps(settings=settings, protocol=protocol, clock=clock, sessions=sessions)
    register_handlers(application)
    return application
