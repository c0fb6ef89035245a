"""aiosqlite with one trip to its thread per statement.

aiosqlite runs every sqlite3 call in its own thread, and SQLAlchemy's adapter makes four calls per statement
(open a cursor, execute, fetch the rows, close the cursor): four round trips between the event loop and that
thread, about 0.1 ms each, for a statement that takes SQLite a few microseconds. Here the four are one
function run in the thread. The statements, their order, the transactions, the errors and the locking are
sqlite3's as before: only the number of trips changes. Streaming results (`stream()`) keep aiosqlite's cursor.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT

_Ran = tuple[sqlite3.Cursor, list[Any]]


def _run(connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool) -> _Ran:
    """In aiosqlite's thread: the statement and all its rows; the cursor is closed, its rowcount, lastrowid and
    description stay readable."""
    cursor = connection._conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
    finally:
        cursor.close()
    return cursor, rows


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:  # no cursor opened yet
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()

    async def _run(self, operation: str, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            connection = cast(aiosqlite.Connection, self._connection)
            in_thread = cast(Callable[..., Awaitable[_Ran]], connection._execute)
            cursor, rows = await in_thread(_run, connection, operation, parameters, many)
            self._cursor = cursor  # type: ignore[assignment]
            self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        await self._run(operation, seq_of_parameters, many=True)

    async def _async_soft_close(self) -> None:
        """Closed already, in the thread."""

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite DBAPI whose connections make one trip per statement (`create_engine(module=…)`)."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        return OneTripConnection(self, super().connect(*arg, **kw)._connection)
