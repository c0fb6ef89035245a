"""Deployment checks for `followup doctor`: one function per check, each returning plain data.

The daily digest warns a site team the same way (`bot.services.sites.linked_clinicians`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.sites import linked_clinicians, list_sites
from models import FailedUpdate, OutboxMessage, OutboxStatus, Patient, PatientStatus, Site

BACKLOG_AGE = timedelta(minutes=10)  # pending messages due longer ago than this mean nothing is sending


@dataclass(frozen=True)
class Backlog:
    messages: int
    oldest_due: datetime | None


async def sites_without_responder(session: AsyncSession) -> list[str]:
    """Codes of the sites with no active clinician linked in Telegram: an alert's first step reaches nobody."""
    responders = await linked_clinicians(session)
    return [site.code for site in await list_sites(session) if site.id not in responders]


async def sites_without_phone(session: AsyncSession) -> list[str]:
    """Codes of the sites whose phone is missing: the urgent advice could not name a number to call."""
    blank = (Site.phone.is_(None)) | (func.trim(Site.phone) == "")
    return list(await session.scalars(select(Site.code).where(blank).order_by(Site.code)))


async def failed_updates(session: AsyncSession) -> list[FailedUpdate]:
    """Telegram updates given up after repeated failures (a person's tap or message that was never handled)."""
    return list(
        await session.scalars(
            select(FailedUpdate).where(FailedUpdate.gave_up_at.is_not(None)).order_by(FailedUpdate.gave_up_at)
        )
    )


async def dead_letters(session: AsyncSession) -> int:
    """Outbox messages Telegram refused for good (blocked, bad request) or that failed too often."""
    count = await session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DEAD)
    )
    return int(count or 0)


async def outbox_backlog(session: AsyncSession, *, now: datetime) -> Backlog:
    """Pending messages that were due more than `BACKLOG_AGE` ago."""
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(OutboxMessage.not_before)).where(
                OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.not_before < now - BACKLOG_AGE
            )
        )
    ).one()
    return Backlog(messages=int(count or 0), oldest_due=oldest)


async def unreachable_patients(session: AsyncSession) -> list[str]:
    """Study ids of patients in active follow-up whom Telegram refuses to reach (blocked the bot, left)."""
    return list(
        await session.scalars(
            select(Patient.study_id)
            .where(Patient.status == PatientStatus.ACTIVE, Patient.unreachable.is_(True))
            .order_by(Patient.study_id)
        )
    )
