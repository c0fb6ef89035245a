"""SQLite through aiosqlite in one trip to its thread per statement, with sqlite3's results and errors."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.db import create_engine


async def test_it_runs_a_statement_with_its_rows_in_one_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'trips.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
        trips = 0
        original = aiosqlite.Connection._execute

        async def counted(self: aiosqlite.Connection, fn: object, *args: object, **kwargs: object) -> object:
            nonlocal trips
            trips += 1
            return await original(self, fn, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        async with engine.connect() as connection:
            inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a'), ('b')"))
            assert (trips, inserted.rowcount) == (1, 2)
            rows = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).all()
            assert (trips, rows) == (2, [("a",), ("b",)])
            renamed = await connection.execute(text("UPDATE t SET name = name || '!' WHERE name = 'b'"))
            assert (trips, renamed.rowcount) == (3, 1)
            await connection.commit()
            assert trips == 4
    finally:
        await engine.dispose()


async def test_it_raises_sqlite_errors_as_before(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'errors.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (name TEXT UNIQUE)"))
            await connection.execute(text("INSERT INTO t VALUES ('a')"))
        async with engine.connect() as connection:
            with pytest.raises(IntegrityError):
                await connection.execute(text("INSERT INTO t VALUES ('a')"))
            await connection.rollback()
            assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    finally:
        await engine.dispose()
