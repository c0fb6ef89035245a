"""The composition root: builds the python-telegram-bot Application and registers every handler, in order."""

from __future__ import annotations

import logging
import os
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import BotCommand, BotCommandScopeAllPrivateChats
from telegram.ext import Application, ApplicationBuilder, CallbackContext, ContextTypes, ExtBot

from bot.clock import Clock
from bot.config import Settings
from bot.protocol import StudyProtocol

log = logging.getLogger(__name__)
WRONG_CODES_ALLOWED = 5
WRONG_CODE_WINDOW = timedelta(hours=1)


@dataclass
class Deps:
    """What handlers need besides the update. Built once, in `build_application`."""

    settings: Settings
    protocol: StudyProtocol
    clock: Clock
    sessions: async_sessionmaker[AsyncSession]
    wrong_codes: dict[int, deque[datetime]] = field(default_factory=lambda: defaultdict(deque))

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise

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


BotApplication = Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], dict[str, Any], Any]

PATIENT_COMMANDS = {
    "en": [
        ("checkin", "Answer this month's questions"),
        ("report", "I feel unwell now"),
        ("doses", "My IL-2 doses"),
        ("time", "Change my reminder time"),
        ("language", "中文 / English"),
        ("help", "Help and my study team's phone"),
        ("stop", "Stop taking part"),
    ],
    "zh": [
        ("checkin", "回答本月的问题"),
        ("report", "我现在不舒服"),
        ("doses", "我的IL-2用药"),
        ("time", "修改提醒时间"),
        ("language", "中文 / English"),
        ("help", "帮助和研究团队电话"),
        ("stop", "退出研究"),
    ],
}


async def _set_commands(application: BotApplication) -> None:
    scope = BotCommandScopeAllPrivateChats()
    for language, commands in PATIENT_COMMANDS.items():
        await application.bot.set_my_commands(
            [BotCommand(name, text) for name, text in commands],
            scope=scope,
            language_code=None if language == "en" else language,
        )


def quiet_http_logs() -> None:
    """httpx logs every request URL at INFO, and Bot API URLs contain the token: keep those loggers quiet."""
    for name in ("httpx", "httpcore", "telegram.request", "apscheduler.executors.default"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_application(
    *, settings: Settings, protocol: StudyProtocol, clock: Clock, sessions: async_sessionmaker[AsyncSession]
) -> BotApplication:
    from handlers import register_handlers

    os.environ.setdefault(
        "PTB_TIMEDELTA", "1"
    )  # durations as timedelta (python-telegram-bot's future default)
    quiet_http_logs()
    application = cast(
        BotApplication,
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.telegram_api_url)
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(False)
        .post_init(_set_commands)
        .build(),
    )
    application.bot_data["deps"] = Deps(settings=settings, protocol=protocol, clock=clock, sessions=sessions)
    register_handlers(application)
    return application
