"""Voiding an infection entered in error. It is kept, flagged void, and no longer counted; when it was the end
of the patient's follow-up, the end moves to the next first infection by onset, or follow-up reopens; a death
recorded with it is withdrawn (`infection_follow_up`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import audited
from bot.services.corrections import get_infection
from bot.services.errors import DomainError
from bot.services.infection_follow_up import follow_the_infections
from bot.services.staff_changes import reason_or_error
from models import Infection


async def void_infection(
    session: AsyncSession, *, infection_id: int, reason: str, actor: str, now: datetime
) -> tuple[Infection, str | None]:
    """An infection entered in error: kept with the reason, no longer counted in exports' flags or the report.
    Returns the infection and what happened to the patient's follow-up (None: nothing). Commits."""
    reason = reason_or_error(reason)
    infection, patient = await get_infection(session, infection_id=infection_id)
    if infection.voided_at is not None:
        raise DomainError(f"infection #{infection.id} is void already")
    with audited(session, entity=infection, actor=actor, action="infection.void", at=now) as notes:
        infection.voided_at, infection.void_reason = now, reason
        notes["reason"] = reason
    await session.flush()
    outcome = await follow_the_infections(session, patient=patient, reason=reason, actor=actor, now=now)
    await session.commit()
    return infection, outcome
