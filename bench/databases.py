"""The benchmarks' databases: a new SQLite file, or a given PostgreSQL database, emptied first."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from bot.db import sync_url, upgrade_database
from models import Base


def fresh(url: str) -> None:
    """The schema at its newest revision, with every table empty (PostgreSQL's identities restarted)."""
    upgrade_database(url)
    engine = create_engine(sync_url(url))
    if engine.dialect.name == "postgresql":
        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
