"""`followup run` (the bot and its scheduler) and `followup tick` (one pass of every job, for cron)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from telegram import Bot, Update

from bot.app import build_application
from bot.cli.runtime import fail, run_async, runtime
from bot.config import Settings
from bot.db import check_schema, create_engine, session_factory
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import TelegramSender
from bot.logs import configure_logging
from bot.scheduler import Jobs

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
WEBHOOK_PATH = "telegram"


def run_command(
    webhook: Annotated[bool, typer.Option("--webhook", help="Receive updates on a webhook instead of polling")] = False,
) -> None:
    """Run the bot and its scheduler until stopped (Ctrl-C or SIGTERM)."""
    rt = runtime()
    settings = rt.settings
    configure_logging(settings.log_level, secrets=_secrets(settings))
    run_async(_preflight())
    url, secret = settings.webhook_url, settings.webhook_secret
    if webhook and (url is None or secret is None):
        fail("--webhook needs FOLLOWUP_WEBHOOK_URL (https://…) and FOLLOWUP_WEBHOOK_SECRET (16+ characters)")
    engine = create_engine(settings.database_url, pool_pre_ping=True)
    application = build_application(
        settings=settings,
        protocol=rt.protocol,
        clock=rt.clock,
        sessions=session_factory(engine),
        with_jobs=True,
    )
    if webhook and url is not None and secret is not None:
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=WEBHOOK_PATH,
            secret_token=secret.get_secret_value(),
            webhook_url=url.rstrip("/") + "/" + WEBHOOK_PATH,
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        application.run_polling(allowed_updates=ALLOWED_UPDATES)


def _secrets(settings: Settings) -> list[str]:
    values = [settings.telegram_token, settings.webhook_secret]
    return [value.get_secret_value() for value in values if value is not None]


async def _preflight() -> None:
    """Refuse to start without a token or on a database that was not upgraded."""
    settings = runtime().settings
    settings.require_token()
    engine = create_engine(settings.database_url)
    try:
        await check_schema(engine)
    finally:
        await engine.dispose()


def tick_command() -> None:
    """Run every job once (due contacts, then the outbox, then housekeeping) and exit. For cron."""
    rt = runtime()
    configure_logging(rt.settings.log_level, secrets=_secrets(rt.settings))

    async def once() -> dict[str, int]:
        settings = rt.settings
        engine = create_engine(settings.database_url)
        try:
            await check_schema(engine)
            async with Bot(settings.require_token(), base_url=settings.telegram_api_url) as bot:
                sessions = session_factory(engine)
                dispatcher = Dispatcher(
                    sessions=sessions,
                    sender=TelegramSender(bot),
                    clock=rt.clock,
                    limiter=RateLimiter(clock=rt.clock, per_second=settings.global_rate_per_second),
                    sleep=asyncio.sleep,
                )
                return await Jobs(sessions=sessions, protocol=rt.protocol, clock=rt.clock, dispatcher=dispatcher).tick()
        finally:
            await engine.dispose()

    typer.echo(json.dumps(run_async(once())))
