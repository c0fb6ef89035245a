"""`followup run` (the bot and its scheduler) and `followup tick` (one pass of every job, for cron)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from typing import Annotated

import typer
from telegram import Bot, Update
from telegram.error import NetworkError, TelegramError

from bot.app import build_application
from bot.cli.runtime import fail, run_async, runtime
from bot.config import Settings
from bot.db import check_schema, create_engine, session_factory
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import TelegramSender
from bot.logs import configure_logging, log
from bot.scheduler import Jobs
from bot.services.errors import DomainError

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
WEBHOOK_PATH = "telegram"
FIRST_WAIT, LONGEST_WAIT = 0.5, 60.0  # seconds between attempts to reach Telegram at start, doubling


def run_command(
    webhook: Annotated[bool, typer.Option("--webhook", help="Receive updates on a webhook instead of polling")] = False,
) -> None:
    """Run the bot and its scheduler until stopped (Ctrl-C or SIGTERM)."""
    rt = runtime()
    settings = rt.settings
    configure_logging(settings.log_level, secrets=_secrets(settings))
    run_async(_preflight())
    if not run_async(wait_for_telegram(settings)):
        return  # stopped (SIGTERM, Ctrl-C) before Telegram answered
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


def telegram_problem(error: TelegramError, settings: Settings) -> str:
    """One line about a failed Bot API call: the API's address and the error, never the token."""
    what = f"{type(error).__name__}: {error.message}"
    for secret in _secrets(settings):
        what = what.replace(secret, "<redacted>")
    if not isinstance(error, NetworkError):
        return f"Telegram refused the bot at {settings.telegram_api_url}: {what}"
    return f"cannot reach Telegram at {settings.telegram_api_url}: {what}"


async def wait_for_telegram(settings: Settings) -> bool:
    """Ask Telegram who the bot is until it answers: one log line per failed attempt, waiting twice as long
    each time (0.5 s, 1 s, 2 s … 60 s). True once it answered; False if stopped meanwhile (SIGTERM, Ctrl-C).
    A refusal (a wrong token) is not retried: it is one line and exit status 1."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        wait, attempt = FIRST_WAIT, 0
        while True:
            attempt += 1
            try:
                async with Bot(settings.require_token(), base_url=settings.telegram_api_url):
                    return True
            except NetworkError as error:  # includes timeouts
                log.warning("%s (attempt %d); trying again in %g s", telegram_problem(error, settings), attempt, wait)
            except TelegramError as error:
                raise DomainError(telegram_problem(error, settings)) from None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
            if stop.is_set():
                return False
            wait = min(wait * 2, LONGEST_WAIT)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


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
        except TelegramError as error:
            raise DomainError(telegram_problem(error, settings)) from None
        finally:
            await engine.dispose()

    typer.echo(json.dumps(run_async(once())))
