"""aiosqlite, going to its thread only when a statement has to wait for another writer.

aiosqlite runs every sqlite3 call in its own thread, and SQLAlchemy's adapter makes four calls per statement
(open a cursor, execute, fetch the rows, close the cursor), for a statement that takes SQLite a few
microseconds. Each trip hands the GIL to that thread and back: in a busy bot the thread waits for the event loop
to let go of it (up to Python's switch interval, 5 ms), so a trip costs far more wall time than the statement.
Here a statement is one function call, run at once on the event loop's thread, told not to wait for the write
lock (busy timeout 0 for that call). Only when SQLite answers that the lock is taken (another process, or a
job of this one, is writing) does the statement go to aiosqlite's thread, to wait for it there (up to
BUSY_TIMEOUT_MS) while the event loop goes on.

- reads never wait in WAL mode; writes inside a transaction never wait (this connection holds the lock);
- a COMMIT cannot wait for a lock either (WAL); its fsync, a fraction of a millisecond, is the only pause;
- a COMMIT or ROLLBACK with no transaction open (SQLAlchemy's reset of a connection returned to its pool) is
  no call at all.

Long reads (exports) stream through aiosqlite's own cursor (`stream()`), in its thread, as before. The
statements, their order, the transactions, the errors and the locking are sqlite3's: only where they run
changes.
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

BUSY_TIMEOUT_MS = 5000  # how long a statement waits for another writer's lock (in aiosqlite's thread)


def _run(connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool) -> _Ran:
    """The statement and all its rows; the cursor is closed, its rowcount, lastrowid and description stay
    readable."""
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


class InlineCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:  # no cursor opened yet
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()

    async def _run(self, operation: str, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            connection = cast(aiosqlite.Connection, self._connection)
            try:
                cursor, rows = _without_waiting(connection, operation, parameters, many)
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # the lock is taken (any kind of busy)
                    raise
                in_thread = cast(Callable[..., Awaitable[_Ran]], connection._execute)
                cursor, rows = await in_thread(_run, connection, operation, parameters, many)
            self._cursor = cursor  # type: ignore[assignment]
            self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._run(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        await self._run(operation, seq_of_parameters, many=True)

    async def _async_soft_close(self) -> None:
        """Closed already, by `_run`."""

    def close(self) -> None:
        self._rows.clear()


def _without_waiting(connection: aiosqlite.Connection, operation: str, parameters: Any, many: bool) -> _Ran:
    """`_run`, refusing to wait for the write lock: SQLITE_BUSY at once when it is taken."""
    if connection._conn.in_transaction or operation.lstrip()[:6].upper() == "SELECT":
        return _run(connection, operation, parameters, many)  # it cannot wait: no need to say so
    connection._conn.execute("PRAGMA busy_timeout = 0")
    try:
        return _run(connection, operation, parameters, many)
    finally:
        connection._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


class InlineConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = InlineCursor

    def commit(self) -> None:
        self._end_transaction(sqlite3.Connection.commit)

    def rollback(self) -> None:
        self._end_transaction(sqlite3.Connection.rollback)

    def _end_transaction(self, end: Callable[[sqlite3.Connection], None]) -> None:
        """At once: it waits for no lock."""
        if self._in_transaction():
            try:
                end(cast(aiosqlite.Connection, self._connection)._conn)
            except Exception as error:
                self._handle_exception(error)

    def _in_transaction(self) -> bool:
        connection = cast(aiosqlite.Connection, self._connection)
        return connection._connection is not None and connection._conn.in_transaction


class InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite DBAPI whose statements run on the event loop's thread unless they must wait
    (`create_engine(module=…)`)."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> InlineConnection:
        return InlineConnection(self, super().connect(*arg, **kw)._connection)
