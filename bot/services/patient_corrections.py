"""The corrections of one patient's record as staff read them: each changed answer and each amended or voided
infection, with who changed it, when, from what to what, and why (read from the audit trail, which keeps them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import AuditEvent, Staff

CORRECTION_ACTIONS = ("answer.correct", "infection.amend", "infection.void")
NOT_SHOWN = {"reason", "corrected"}  # the reason stands on its own; the flag only says "was corrected"


@dataclass(frozen=True)
class Change:
    field: str  # a check-in item id (an answer) or an infection's column
    before: Any
    after: Any


@dataclass(frozen=True)
class Correction:
    at: datetime
    who: str  # the staff member's name, or the operator's account for a CLI change
    action: str  # one of CORRECTION_ACTIONS
    month: int | None  # the check-in month of a corrected answer
    infection_id: int | None
    changes: list[Change]
    reason: str


async def corrections_in(session: AsyncSession, audit: list[AuditEvent]) -> list[Correction]:
    """The corrections among a patient's audit events, oldest first."""
    events = [event for event in audit if event.action in CORRECTION_ACTIONS]
    staff_ids = {int(event.actor.split(":", 1)[1]) for event in events if _staff_actor(event.actor)}
    rows = await session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids)))
    names: dict[int, str] = dict(rows.all())
    return [_correction(event, names) for event in events]


def _staff_actor(actor: str) -> bool:
    kind, _, number = actor.partition(":")
    return kind == "staff" and number.isdigit()


def _correction(event: AuditEvent, names: dict[int, str]) -> Correction:
    before, after = event.before or {}, event.after or {}
    who = names.get(int(event.actor.split(":", 1)[1]), event.actor) if _staff_actor(event.actor) else event.actor
    reason = str(after.get("reason", ""))
    if event.action == "answer.correct":
        change = Change(str(before.get("item", "")), before.get("value"), after.get("value"))
        month = before.get("month")
        month = month if isinstance(month, int) else None
        return Correction(event.occurred_at, who, event.action, month, None, [change], reason)
    fields = [key for key in [*after, *before] if key not in NOT_SHOWN]
    changes = [Change(field, before.get(field), after.get(field)) for field in dict.fromkeys(fields)]
    return Correction(event.occurred_at, who, event.action, None, int(event.entity_id), changes, reason)
