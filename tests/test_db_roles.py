"""PostgreSQL with two roles: an owner runs `followup db upgrade` and `db grant`; the bot runs as a role that
owns nothing and can only read and append the audit trail."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from bot.app import build_application
from bot.cli import app as cli
from bot.clock import FakeClock
from bot.config import get_settings, load_settings
from bot.db import create_engine, session_factory, sync_url
from bot.protocol import StudyProtocol
from bot.simulator.bot_api import BotApiStub
from bot.simulator.harness import running
from models import AuditEvent, Patient
from tests.conftest import POSTGRES_URL, requires_postgres

pytestmark = requires_postgres


def _admin(statement: str) -> None:
    assert POSTGRES_URL is not None
    engine = create_sync_engine(sync_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


@pytest.fixture
def two_roles() -> Iterator[tuple[str, str, str]]:
    """URLs of a fresh database as its owner and as a login role that owns nothing; the bot role's name."""
    assert POSTGRES_URL is not None
    suffix = uuid.uuid4().hex[:10]
    owner, runner, database = f"followup_owner_{suffix}", f"followup_bot_{suffix}", f"followup_roles_{suffix}"
    _admin(f"CREATE ROLE {owner} LOGIN")
    _admin(f"CREATE ROLE {runner} LOGIN")
    _admin(f"CREATE DATABASE {database} OWNER {owner}")
    base = make_url(POSTGRES_URL)
    url = {role: base.set(username=role, database=database).render_as_string() for role in (owner, runner)}
    try:
        yield url[owner], url[runner], runner
    finally:
        _admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        _admin(f"DROP ROLE IF EXISTS {runner}")
        _admin(f"DROP ROLE IF EXISTS {owner}")


def followup(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> str:
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", url)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


async def test_it_runs_the_bot_as_a_role_that_owns_nothing(
    cli_env: str,
    monkeypatch: pytest.MonkeyPatch,
    two_roles: tuple[str, str, str],
    stub: BotApiStub,
    protocol: StudyProtocol,
    clock: FakeClock,
) -> None:
    owner_url, bot_url, bot_role = two_roles
    run = asyncio.to_thread
    assert "up to date" in await run(followup, monkeypatch, owner_url, "db", "upgrade")
    await run(followup, monkeypatch, owner_url, "db", "grant", bot_role)
    await run(followup, monkeypatch, bot_url, "sites", "add", "PKU", "--name", "PKU", "--timezone", "Asia/Shanghai",
              "--phone", "+86 10 1234 5678")  # fmt: skip
    link = await run(
        followup, monkeypatch, bot_url, "patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "P1"
    )
    clock.set(datetime.now(UTC))
    engine = create_engine(bot_url)
    settings = load_settings(telegram_token=stub.token, telegram_api_url=stub.base_url, bot_username="role_test_bot")
    application = build_application(settings=settings, protocol=protocol, clock=clock, sessions=session_factory(engine))
    async with running(stub, application) as bot:
        await bot.send(700, f"/start {link.strip().rsplit('=', 1)[1]}")
        await bot.tap(700, "我同意")
    async with session_factory(engine)() as session:
        patient = await session.scalar(select(Patient))
        assert patient is not None
        assert patient.consented_at is not None
        events = await session.scalar(select(func.count()).select_from(AuditEvent))
        for statement in (
            "UPDATE audit_events SET actor = 'x'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events CASCADE",
            "DROP TRIGGER audit_events_no_change ON audit_events",
            "ALTER TABLE audit_events DISABLE TRIGGER ALL",
            "CREATE TABLE mine (id int)",
        ):
            with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
                await session.execute(text(statement))
            await session.rollback()
        assert await session.scalar(select(func.count()).select_from(AuditEvent)) == events
    await engine.dispose()
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", bot_url)
    get_settings.cache_clear()
    at_head = await run(CliRunner().invoke, cli, ["db", "upgrade"])
    assert at_head.exit_code == 0  # at head already: nothing to do, nothing the role could not do


async def test_it_refuses_to_grant_to_a_role_that_does_not_exist(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["db", "grant", "no_such_role_here"])
    assert (result.exit_code, result.stderr) == (
        1,
        "error: no PostgreSQL role named 'no_such_role_here': create it first (CREATE ROLE … LOGIN)\n",
    )
