"""Shared fixtures: a migrated database per test (SQLite by default, PostgreSQL when
FOLLOWUP_TEST_DATABASE_URL is set), a fake clock, the shipped protocol."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.clock import FakeClock
from bot.config import SHIPPED_PROTOCOL, get_settings
from bot.db import create_engine, open_session, sync_url, upgrade_database
from bot.protocol import StudyProtocol, load_protocol
from models import Base

# python-telegram-bot's future behaviour (durations as timedelta), opted into now so no deprecation fires.
os.environ["PTB_TIMEDELTA"] = "1"

TEST_DATABASE_ENV = "FOLLOWUP_TEST_DATABASE_URL"
POSTGRES_URL = os.environ.get(TEST_DATABASE_ENV)

requires_postgres = pytest.mark.skipif(
    POSTGRES_URL is None or not POSTGRES_URL.startswith("postgres"),
    reason=f"needs PostgreSQL: set {TEST_DATABASE_ENV}=postgresql://... (.ci/run does)",
)


def _reset_postgres(url: str) -> None:
    engine = create_sync_engine(sync_url(url))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _truncate_postgres(url: str) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    engine = create_sync_engine(sync_url(url))
    with engine.begin() as connection:
        # Between tests only: the audit trail refuses TRUNCATE; a superuser's replica role skips its triggers.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per run: a PostgreSQL database, or an SQLite file that each test copies."""
    if POSTGRES_URL:
        _reset_postgres(POSTGRES_URL)  # an unreachable server fails here, loudly, instead of skipping
        upgrade_database(POSTGRES_URL)
        return POSTGRES_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> str:
    if POSTGRES_URL:
        _truncate_postgres(POSTGRES_URL)
        return POSTGRES_URL
    path = tmp_path / "study.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with open_session(engine) as session:
        yield session


@pytest.fixture(scope="session")
def protocol() -> StudyProtocol:
    return load_protocol(SHIPPED_PROTOCOL)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A command under test (tick, run) configures the root logger: undo it, so later tests' stderr is clean."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[str]:
    """Environment for the real `followup` CLI: the test database and a bot username for deep links."""
    for name in list(os.environ):
        if name.startswith("FOLLOWUP_") and name != TEST_DATABASE_ENV:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    monkeypatch.setenv("FOLLOWUP_BOT_USERNAME", "sle_followup_bot")
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


from tests.bot_fixtures import bot, run_bot, stub, stub_in_thread  # noqa: E402, F401 - shared end-to-end fixtures
from tests.browser_fixtures import browser, console_site  # noqa: E402, F401 - the console in Chromium
from tests.escalation_study import study  # noqa: E402, F401 - a patient and the persona staff, linked
