"""The outbox: every outbound message a service decides on is a row, written in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import OutboxMessage, OutboxStatus


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
) -> int:
    """Add a message unless one with the same dedupe key exists; returns 1 if added, 0 if it was there."""
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
            not_before=not_before or now,
            attempts=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
