"""The migrations are the schema: models match them, and the audit trail cannot be rewritten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.clock import FakeClock
from bot.db import SchemaNotCurrent, check_schema, create_engine
from models import AuditEvent, Base, Site
from tests.conftest import requires_postgres
from tests.factories import make_site


async def test_it_has_models_that_match_the_migrations(engine: AsyncEngine) -> None:
    def differences(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_it_refuses_to_update_or_delete_audit_events(session: AsyncSession, clock: FakeClock) -> None:
    await make_site(session, clock)
    event_id = await session.scalar(select(AuditEvent.id))
    for statement in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text(statement))
        await session.rollback()
    assert await session.scalar(select(AuditEvent.actor).where(AuditEvent.id == event_id)) == "cli:coordinator"


async def test_it_refuses_to_replace_an_audit_event_on_sqlite(
    session: AsyncSession, clock: FakeClock, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("INSERT OR REPLACE is SQLite's")
    await make_site(session, clock)
    event_id = await session.scalar(select(AuditEvent.id))
    replace = text(
        "INSERT OR REPLACE INTO audit_events (id, occurred_at, actor, action, entity_type, entity_id) "
        "VALUES (:id, '2026-01-01 00:00:00', 'forger', 'site.add', 'site', '1')"
    )
    with pytest.raises(DBAPIError, match="append-only"):
        await session.execute(replace, {"id": event_id})
    await session.rollback()
    assert await session.scalar(select(AuditEvent.actor).where(AuditEvent.id == event_id)) == "cli:coordinator"


@requires_postgres
async def test_it_refuses_to_truncate_audit_events_on_postgres(session: AsyncSession, clock: FakeClock) -> None:
    await make_site(session, clock)
    with pytest.raises(DBAPIError, match="append-only"):
        await session.execute(text("TRUNCATE audit_events CASCADE"))
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 1


async def test_it_stores_and_returns_instants_in_utc(session: AsyncSession, clock: FakeClock) -> None:
    shanghai_noon = datetime(2026, 3, 2, 12, 0, tzinfo=timezone(timedelta(hours=8)))
    clock.set(shanghai_noon)
    site = await make_site(session, clock)
    session.expunge_all()
    stored = await session.get(Site, site.id)
    assert stored is not None
    assert stored.created_at == shanghai_noon
    assert stored.created_at.tzinfo is UTC


async def test_it_refuses_a_naive_datetime(session: AsyncSession) -> None:
    session.add(Site(code="X", name="X", timezone="UTC", created_at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        await session.flush()


async def test_it_says_to_run_the_upgrade_on_an_empty_database(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SchemaNotCurrent, match="followup db upgrade"):
        await check_schema(engine)
    await engine.dispose()


@requires_postgres
async def test_it_keeps_utc_on_postgres_whatever_the_session_time_zone(
    engine: AsyncEngine, session: AsyncSession, clock: FakeClock
) -> None:
    site = await make_site(session, clock)
    async with engine.connect() as connection:
        await connection.execute(text("SET TIME ZONE 'Asia/Shanghai'"))
        created = (await connection.execute(select(Site.created_at).where(Site.id == site.id))).scalar_one()
    assert created == clock.now()
    assert created.tzinfo is UTC
