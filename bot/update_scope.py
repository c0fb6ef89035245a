"""One database session per update, and the update's "handled" mark committed together with its first change.

Telegram can deliver an update twice: a webhook retry, or polling restarted before it confirmed its last batch.
An update id already in `processed_updates` is dropped before any handler runs (`claim`; the check is a column,
`HANDLED_BEFORE`, that the update's first query carries, so it costs no statement of its own). A new one is written
to that table inside the transaction of the first commit its handling makes, so the change and the mark land
together or not at all, and the mark costs no commit of its own. Two copies handled at the same moment (two
processes) are caught there too: the second one's commit fails with `RepeatedUpdate` and nothing of it is kept.
An update whose handling commits nothing (a help text, a refusal) is marked when its handling ends.

A failed update (the error handler calls `fail`) is not marked: what it left uncommitted is rolled back, and
`BotApplication.process_update` handles it again, and so does a redelivered copy. Only when a change of the
update committed before the failure does the mark stay (it landed with that change): handling it again would
apply the change twice.

Every handler of the update gets the same session from `Deps.session()` while the scope is open.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import cast

from sqlalchemy import bindparam, event, exists, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from bot.db import use_session
from models import ProcessedUpdate

log = logging.getLogger(__name__)


HANDLED_BEFORE = exists().where(ProcessedUpdate.update_id == bindparam("update_id")).label("handled_before")
"""Whether the update bound as `update_id` was handled before: a column for the update's first query."""


_MARK = insert(ProcessedUpdate)


class RepeatedUpdate(Exception):
    """The update was handled already, by this process or another one: its changes are rolled back."""


class UpdateScope:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.update_id: int | None = None  # set once the update is claimed
        self.received_at: datetime | None = None
        self.marked = False  # the mark is committed
        self.failure: BaseException | None = None  # why handling failed, if it did
        self._mark_in_transaction = False
        session.sync_session.info[_SCOPE] = self  # found by the session events below

    async def claim(self, update_id: int, now: datetime, asking: Callable[[], Awaitable[bool]] | None = None) -> bool:
        """False if the update was handled before; otherwise it will be marked with the scope's first commit.
        `asking` runs the update's first query with `HANDLED_BEFORE` among its columns and returns it; without
        it the check is a query of its own."""
        if asking is None:
            handled_before = await self.session.scalar(select(HANDLED_BEFORE), {"update_id": update_id})
        else:
            handled_before = await asking()
        if handled_before:
            return False
        self.update_id, self.received_at = update_id, now
        return True

    def _before_commit(self, session: Session) -> None:
        if self.update_id is None or self.marked or self._mark_in_transaction:
            return
        session.flush()  # the handler's own changes first: their errors are theirs
        try:  # one plain INSERT in the flushed transaction (no ORM bookkeeping for a row nothing reads back)
            session.connection().execute(_MARK, {"update_id": self.update_id, "received_at": self.received_at})
        except IntegrityError:
            raise RepeatedUpdate(f"update {self.update_id} was handled at the same time elsewhere") from None
        self._mark_in_transaction = True

    def _after_commit(self, _session: Session) -> None:
        self.marked = self.marked or self._mark_in_transaction

    def _after_transaction_end(self, _session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            self._mark_in_transaction = False

    def fail(self, error: BaseException) -> None:
        """Handling raised: nothing more of it is committed, and the update is not marked as handled."""
        self.failure = error

    async def finish(self) -> None:
        """Roll back what the handlers left uncommitted; mark the update if it succeeded and nothing marked it yet."""
        await self.session.rollback()
        if self.update_id is None or self.marked or self.failure is not None:
            return
        try:
            await self.session.commit()  # an empty transaction: only the mark
        except RepeatedUpdate:
            log.info("update %s was handled at the same time elsewhere", self.update_id)
            await self.session.rollback()
        except SQLAlchemyError as error:  # e.g. SQLite's "database is locked": handled again, not lost
            self.failure = error
            await self.session.rollback()


_SCOPE = "update_scope"


def _scope_of(session: Session) -> UpdateScope | None:
    return cast(UpdateScope | None, session.info.get(_SCOPE))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if (scope := _scope_of(session)) is not None:
        scope._before_commit(session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if (scope := _scope_of(session)) is not None:
        scope._after_commit(session)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if (scope := _scope_of(session)) is not None:
        scope._after_transaction_end(session, transaction)


_current: ContextVar[UpdateScope | None] = ContextVar("update_scope", default=None)


def current_scope() -> UpdateScope | None:
    return _current.get()


@asynccontextmanager
async def update_scope(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[UpdateScope]:
    """Open for the whole handling of one update (see `BotApplication.process_update`)."""
    async with use_session(sessions) as session:
        scope = UpdateScope(session)
        token = _current.set(scope)
        try:
            yield scope
        finally:
            _current.reset(token)
        await scope.finish()
