"""A monthly check-in written straight into the database for the report tests: its contact and, when answered,
its submitted response."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models import ContactKind, ContactStatus, FormKind, QuestionnaireResponse, ResponseStatus, ScheduledContact


async def add_checkin(
    session: AsyncSession,
    patient_id: int,
    *,
    month: int,
    due: datetime,
    status: str,
    answered_after: timedelta | None = None,
    late: bool = False,
) -> None:
    """The check-in of `month`, due at `due` (its window a week), now `status`; answered `answered_after` the due
    time, marked `late` or not, or never answered when None."""
    contact = ScheduledContact(
        patient_id=patient_id,
        kind=ContactKind.CHECKIN,
        month=month,
        planned_date=due.date(),
        due_at=due,
        window_end=due + timedelta(days=7),
        status=ContactStatus(status),
        dedupe_key=f"checkin:test:{patient_id}:{month}",
    )
    session.add(contact)
    await session.flush()
    if answered_after is not None:
        session.add(
            QuestionnaireResponse(
                patient_id=patient_id,
                contact_id=contact.id,
                form=FormKind.CHECKIN,
                status=ResponseStatus.SUBMITTED,
                started_at=due,
                submitted_at=due + answered_after,
                late=late,
            )
        )
