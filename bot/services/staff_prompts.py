"""A question to a staff member that waits for typed text, and its lapse: an answer typed long after the
question (the chat moved on) must not be taken for it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models import Staff

DISMISS = "dismiss:"
LAPSES_AFTER = timedelta(minutes=30)


def ask_dismissal_reason(staff: Staff, *, escalation_id: int, now: datetime) -> None:
    """'Not an infection' was tapped: the next text within LAPSES_AFTER is its reason."""
    staff.awaiting, staff.awaiting_since = f"{DISMISS}{escalation_id}", now


def awaited_dismissal(staff: Staff) -> int | None:
    """The escalation whose dismissal reason is awaited, if any."""
    if staff.awaiting is None or not staff.awaiting.startswith(DISMISS):
        return None
    return int(staff.awaiting.removeprefix(DISMISS))


async def lapse_if_stale(session: AsyncSession, *, staff: Staff, now: datetime) -> bool:
    """Drop a question asked more than LAPSES_AFTER ago (or at an unknown time); True if it lapsed."""
    if staff.awaiting is None:
        return False
    if staff.awaiting_since is not None and now - staff.awaiting_since <= LAPSES_AFTER:
        return False
    staff.awaiting, staff.awaiting_since = None, None
    await session.commit()
    return True
