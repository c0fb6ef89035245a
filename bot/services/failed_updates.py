"""Updates whose handling failed: counted per attempt, given up after a few, shown by `followup doctor`.

Only the update's id and type and the error's type are stored: an update's content and an exception's message
may hold what a patient wrote.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models import FailedUpdate

GIVE_UP_AFTER = 3  # failures of one update before it is given up and the person is asked to try again


async def record_update_failure(
    session: AsyncSession, *, update_id: int, update_type: str, error_type: str, now: datetime
) -> FailedUpdate:
    """Count one failure of the update; the third one gives it up. A redelivered copy keeps counting."""
    row = await session.get(FailedUpdate, update_id)
    if row is None:
        row = FailedUpdate(
            update_id=update_id, update_type=update_type[:32], failures=0, first_failed_at=now, last_error=""
        )
        session.add(row)
    row.failures += 1
    row.last_error, row.last_failed_at = error_type[:120], now
    if row.failures >= GIVE_UP_AFTER and row.gave_up_at is None:
        row.gave_up_at = now
    await session.commit()
    return row
