"""The append-only audit trail: who changed which study record, from what, to what."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from models import AuditEvent, Base


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def snapshot(record: Base, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """A record's column values as JSON-ready data."""
    return {
        column.key: _plain(getattr(record, column.key))
        for column in inspect(record).mapper.column_attrs
        if column.key not in exclude
    }


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, on both sides."""
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def record_event(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity: Base,
    at: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit row to the session; it commits with the change it describes."""
    identity = inspect(entity).identity
    event = AuditEvent(
        occurred_at=at,
        actor=actor,
        action=action,
        entity_type=type(entity).__tablename__,
        entity_id=str(identity[0]) if identity else "",
        before=before,
        after=after,
    )
    session.add(event)
    return event


@contextmanager
def audited(
    session: AsyncSession, *, entity: Base, actor: str, action: str, at: datetime, hide: tuple[str, ...] = ()
) -> Iterator[dict[str, Any]]:
    """Record what the block changes on `entity` (only the changed columns, minus `hide`).

    The block may add notes to the yielded dict; they are stored with the new values.
    """
    before = snapshot(entity, exclude=hide)
    notes: dict[str, Any] = {}
    yield notes
    old, new = changed(before, snapshot(entity, exclude=hide))
    record_event(session, actor=actor, action=action, entity=entity, at=at, before=old, after={**new, **notes})
