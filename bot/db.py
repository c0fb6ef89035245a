"""Engines and sessions. Nothing connects at import; callers pass the URL from Settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, inspect, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from bot.sqlite_driver import BUSY_TIMEOUT_MS, InlineDBAPI

M = TypeVar("M")

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"


def async_url(url: str) -> str:
    """Pick the async driver: aiosqlite for SQLite, psycopg 3 for PostgreSQL."""
    return _with_driver(url, sqlite="aiosqlite", postgresql="psycopg")


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (Alembic)."""
    return _with_driver(url, sqlite="pysqlite", postgresql="psycopg")


def _with_driver(url: str, *, sqlite: str, postgresql: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    driver = {"sqlite": sqlite, "postgresql": postgresql}.get(backend)
    if driver is None:
        raise ValueError(f"unsupported database: {backend}")
    return parsed.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)


def _sqlite_pragmas(durable: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # A writer waits up to 5 s for the lock (a CLI import), in aiosqlite's thread; past that the update fails
        # with "database is locked" and is handled again twice more (handlers.context.RETRY_DELAYS): a lock held
        # ~15 s loses no tap.
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers (CLI, exports) never block the bot's writes
        cursor.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        cursor.close()

    return on_connect


def create_engine(url: str, *, durable: bool = True, **kwargs: Any) -> AsyncEngine:
    """An async engine whose error messages never quote SQL parameters (they can be patient answers).

    `durable=False` skips fsync on SQLite: only for throw-away databases (the demo, benchmarks). SQLite goes
    through aiosqlite, its statements run on the event loop's thread unless they must wait for the write lock
    (bot.sqlite_driver).
    """
    sqlite = make_url(async_url(url)).get_backend_name() == "sqlite"
    if sqlite:
        kwargs.setdefault("module", InlineDBAPI())
    engine = create_async_engine(async_url(url), hide_parameters=True, **kwargs)
    if sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(durable))
    return engine


async def get_for_update(session: AsyncSession, model: type[M], ident: int) -> M | None:
    """The row as committed now, locked until the transaction ends, so a check-then-change is not raced.

    PostgreSQL locks the row (FOR UPDATE). SQLite has no row locks but one writer at a time: a no-op write to
    the row begins the transaction with the database's write lock, and the row is read again under it.
    """
    if session.get_bind().dialect.name == "sqlite":
        (key,) = inspect(model).primary_key
        await session.execute(update(model).where(key == ident).values({key: key}))
    return await session.get(model, ident, with_for_update=True, populate_existing=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def use_session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session that rolls back whatever its use case did not commit."""
    async with sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise


def open_session(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncSession]:
    return use_session(session_factory(engine))


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["url"] = url
    return config


def upgrade_database(url: str) -> None:
    """Bring the schema to the newest revision (synchronous: Alembic runs on the sync driver)."""
    from alembic import command

    command.upgrade(_alembic_config(url), "head")


def grant_bot_role(url: str, role: str) -> None:
    """Let a PostgreSQL role that owns nothing run the bot: read and write the study tables, only read and
    append audit events, only read the schema version. Run by the tables' owner after each upgrade."""
    from sqlalchemy import create_engine as create_sync_engine
    from sqlalchemy import text

    engine = create_sync_engine(sync_url(url), hide_parameters=True)
    try:
        if engine.dialect.name != "postgresql":
            raise ValueError("roles exist on PostgreSQL only (an SQLite file is protected by its file permissions)")
        with engine.begin() as connection:
            if connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}) is None:
                raise ValueError(f"no PostgreSQL role named {role!r}: create it first (CREATE ROLE … LOGIN)")
            name = engine.dialect.identifier_preparer.quote(role)
            for statement in (
                f"GRANT USAGE ON SCHEMA public TO {name}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {name}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {name}",
                f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM {name}",
                f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {name}",
            ):
                connection.execute(text(statement))
    finally:
        engine.dispose()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()


class SchemaNotCurrent(Exception):
    """The database is not at the code's migration head."""


async def check_schema(engine: AsyncEngine) -> None:
    """Refuse to work on a database that `followup db upgrade` has not brought up to date."""
    from alembic.runtime.migration import MigrationContext

    def current(connection: Any) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        revision = await connection.run_sync(current)
    head = head_revision()
    if revision is None:
        raise SchemaNotCurrent("the database has no tables yet: run `followup db upgrade`")
    if revision != head:
        raise SchemaNotCurrent(f"the database is at revision {revision}, not {head}: run `followup db upgrade`")
