"""IL-2 doses as the patient sees them: what is coming, and what they confirmed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import ContactKind, ContactStatus, Patient, ScheduledContact

ANSWERED = (ContactStatus.TAKEN, ContactStatus.SKIPPED, ContactStatus.UNCONFIRMED, ContactStatus.MISSED)


async def upcoming_doses(
    session: AsyncSession, *, patient: Patient, now: datetime, limit: int
) -> Sequence[ScheduledContact]:
    """Doses still ahead, including today's if its day has not ended."""
    return (
        await session.scalars(
            select(ScheduledContact)
            .where(
                ScheduledContact.patient_id == patient.id,
                ScheduledContact.kind == ContactKind.DOSE,
                ScheduledContact.status.in_((ContactStatus.PLANNED, ContactStatus.OPEN)),
                ScheduledContact.window_end > now,
            )
            .order_by(ScheduledContact.due_at)
            .limit(limit)
        )
    ).all()


async def recent_doses(session: AsyncSession, *, patient: Patient, limit: int) -> Sequence[ScheduledContact]:
    return (
        await session.scalars(
            select(ScheduledContact)
            .where(
                ScheduledContact.patient_id == patient.id,
                ScheduledContact.kind == ContactKind.DOSE,
                ScheduledContact.status.in_(ANSWERED),
            )
            .order_by(ScheduledContact.due_at.desc())
            .limit(limit)
        )
    ).all()
