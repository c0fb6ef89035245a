"""The outbox: every outbound message a service decides on is a row, written in the same transaction."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, event, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from models import Lane, OutboxMessage, OutboxStatus

_urgent_listeners: set[asyncio.Event] = set()


def listen_for_urgent(wakeup: asyncio.Event) -> None:
    """`wakeup` is set whenever this process commits an URGENT row (the resident dispatcher waits on it).

    Only a signal: the database stays the one record, and other processes' rows are found by polling."""
    _urgent_listeners.add(wakeup)


def stop_listening(wakeup: asyncio.Event) -> None:
    _urgent_listeners.discard(wakeup)


def _wake_listeners(_session: Session) -> None:
    for wakeup in list(_urgent_listeners):
        wakeup.set()


async def enqueue(
    session: AsyncSession,
    *,
    dedupe_key: str,
    chat_id: int,
    payload: dict[str, Any],
    now: datetime,
    method: str = "sendMessage",
    not_before: datetime | None = None,
    patient_id: int | None = None,
    staff_id: int | None = None,
    lane: Lane = Lane.NORMAL,
) -> int:
    """Add a message unless one with the same dedupe key exists; returns 1 if added, 0 if it was there.

    `lane` orders what is due: urgent advice and alerts go before replies, replies before bulk reminders."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(OutboxMessage)
        .values(
            dedupe_key=dedupe_key,
            chat_id=chat_id,
            method=method,
            payload=payload,
            patient_id=patient_id,
            staff_id=staff_id,
            status=OutboxStatus.PENDING,
            lane=int(lane),
            not_before=not_before or now,
            attempts=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    )
    # RETURNING, not rowcount: psycopg reports -1 rows for INSERT … ON CONFLICT DO NOTHING.
    added = 0 if (await session.execute(statement)).scalar() is None else 1
    if added and lane is Lane.URGENT and _urgent_listeners:
        event.listen(session.sync_session, "after_commit", _wake_listeners, once=True)
    return added


async def claim_due(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    lane: Lane | None = None,
) -> list[OutboxMessage]:
    """Take up to `limit` due rows for this worker, atomically, and commit the claim: urgent lanes first, then
    the oldest. With `lane`, only that lane's rows.

    On PostgreSQL rows locked by another dispatcher are skipped (FOR UPDATE SKIP LOCKED); everywhere the
    conditional UPDATE (status still pending) makes a row one worker's only. Rows claimed by a worker that
    died (claimed longer than `lease` ago) are handed out again: only messages in flight can repeat.
    """
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < now - lease)
        .values(status=OutboxStatus.PENDING, claimed_by=None)
    )
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.not_before <= now,
            ~_held_back_in_its_chat(now),
        )
        .order_by(OutboxMessage.lane, OutboxMessage.not_before, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if lane is not None:
        due = due.where(OutboxMessage.lane == int(lane))
    ids = list((await session.scalars(due)).all())
    if not ids:
        await session.commit()
        return []
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING)
        .values(
            status=OutboxStatus.SENDING,
            claimed_by=worker,
            claimed_at=now,
            attempts=OutboxMessage.attempts + 1,
        )
    )
    claimed = list(
        (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker)
                .order_by(OutboxMessage.lane, OutboxMessage.not_before, OutboxMessage.id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    await session.commit()
    return claimed


def _held_back_in_its_chat(now: datetime) -> ColumnElement[bool]:
    """A chat's messages arrive in order (urgent lanes first): a row waits while a row ahead of it in the same
    chat is being sent, is due, or failed and waits for its retry. So an urgent advice that Telegram refused
    once is still the first thing the patient reads, and a batch holds at most one row per chat. Rows planned
    for later (not yet due, never tried) hold nothing back."""
    ahead = aliased(OutboxMessage)
    return exists().where(
        ahead.chat_id == OutboxMessage.chat_id,
        or_(
            ahead.lane < OutboxMessage.lane,
            and_(ahead.lane == OutboxMessage.lane, ahead.id < OutboxMessage.id),
        ),
        or_(
            ahead.status == OutboxStatus.SENDING,
            and_(ahead.status == OutboxStatus.PENDING, or_(ahead.not_before <= now, ahead.attempts > 0)),
        ),
    )


async def next_due(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(OutboxMessage.not_before)).where(OutboxMessage.status == OutboxStatus.PENDING)
    )
