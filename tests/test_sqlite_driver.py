"""SQLite through aiosqlite, in its thread only when a statement must wait for the lock, with sqlite3's results and
errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot import sqlite_driver
from bot.db import create_engine
from bot.sqlite_driver import BUSY_TIMEOUT_MS


def count_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the statements that go to aiosqlite's thread (the list's one item)."""
    trips = [0]
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *args: object, **kwargs: object) -> object:
        trips[0] += fn is sqlite_driver._run  # not the connection's own calls (functions registered, close)
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return trips


async def test_it_runs_statements_and_commits_at_once_when_nobody_else_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'trips.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
        trips = count_trips(monkeypatch)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
            inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a'), ('b')"))
            rows = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).all()
            renamed = await connection.execute(text("UPDATE t SET name = name || '!' WHERE name = 'b'"))
            assert (inserted.rowcount, rows, renamed.rowcount) == (2, [("a",), ("b",)], 1)
            await connection.commit()
            await connection.rollback()  # nothing to roll back
        assert trips == [0]
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all() == ["a", "b!"]
            sqlite = cast(aiosqlite.Connection, (await connection.get_raw_connection()).driver_connection)._conn
            assert sqlite.execute("PRAGMA busy_timeout").fetchone() == (BUSY_TIMEOUT_MS,)  # set back after a write
    finally:
        await engine.dispose()


async def test_a_write_that_must_wait_for_another_writer_waits_in_the_thread_and_the_loop_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The holder of the lock runs on the same event loop: were the waiting write to block the loop, the holder
    could never commit (and the wait would end in "database is locked" after the busy timeout)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (name TEXT)"))
        trips = count_trips(monkeypatch)
        async with engine.connect() as holder, engine.connect() as waiter:
            await holder.execute(text("INSERT INTO t VALUES ('first')"))  # holds the write lock
            loop = asyncio.get_running_loop()
            started = loop.time()
            waiting = asyncio.create_task(waiter.execute(text("INSERT INTO t VALUES ('second')")))
            await asyncio.sleep(0.05)
            assert loop.time() - started < BUSY_TIMEOUT_MS / 1000 / 5  # the loop was not held for the busy timeout
            assert not waiting.done()  # it waits for the lock, and this coroutine still runs
            assert (await holder.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
            await holder.commit()
            await waiting
            await waiter.commit()
        assert trips == [1]  # the waiting write, in aiosqlite's thread
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT name FROM t"))).scalars().all() == ["first", "second"]
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
