"""The benchmarks' databases: a new SQLite file, or a given PostgreSQL database, emptied first."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from bot.db import sync_url, upgrade_database


def fresh(url: str) -> None:
    """The schema at its newest revision, with every table empty.

    A PostgreSQL database is emptied by dropping its schema, not by TRUNCATE: the audit trail refuses TRUNCATE
    (migration 0003), as it should outside a benchmark.
    """
    engine = create_engine(sync_url(url))
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade_database(url)
