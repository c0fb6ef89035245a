"""What every CLI command shares: settings, protocol, one session per command, one-line errors."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import NoReturn, TypeVar, overload

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, SystemClock
from bot.config import Settings, SettingsError, get_settings
from bot.db import SchemaNotCurrent, check_schema, create_engine, open_session
from bot.protocol import ProtocolError, StudyProtocol, cached_protocol
from bot.services.errors import DomainError

T = TypeVar("T")
ROW_NUMBER = {"min": 1, "max": 2**63 - 1}  # a record's number on the command line: what the databases can hold
console = Console(highlight=False, soft_wrap=True)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    protocol: StudyProtocol
    clock: Clock
    actor: str


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


@overload
def date_option(option: str, value: str) -> date: ...
@overload
def date_option(option: str, value: str | None) -> date | None: ...
def date_option(option: str, value: str | None) -> date | None:
    """A YYYY-MM-DD option's date (None when not given), or the one-line error."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date in the form YYYY-MM-DD")


def runtime() -> Runtime:
    try:
        settings = get_settings()
        protocol = cached_protocol(settings.protocol_file)
    except (SettingsError, ProtocolError) as error:
        fail(str(error))
    return Runtime(settings=settings, protocol=protocol, clock=SystemClock(), actor=f"cli:{getpass.getuser()}")


def run_async(work: Awaitable[T]) -> T:
    """Run a coroutine; every refusal becomes one line on stderr and exit status 1."""
    try:
        return asyncio.run(work)  # type: ignore[arg-type]
    except (DomainError, SettingsError, ProtocolError, SchemaNotCurrent) as error:
        fail(str(error))
    except (OperationalError, DBAPIError) as error:
        fail(f"database: {str(error.orig).splitlines()[0] if error.orig else type(error).__name__}")
    except OSError as error:
        fail(f"{error.strerror or error}")


def run_with_session(use_case: Callable[[AsyncSession, Runtime], Awaitable[T]]) -> T:
    """Open the configured database, check its schema, run one use case in one session."""
    rt = runtime()

    async def go() -> T:
        engine = create_engine(rt.settings.database_url)
        try:
            await check_schema(engine)
            async with open_session(engine) as session:
                return await use_case(session, rt)
        finally:
            await engine.dispose()

    return run_async(go())
