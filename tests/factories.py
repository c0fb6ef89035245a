"""Named personas and short ways to build a study through the real services."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import FakeClock
from bot.protocol import StudyProtocol
from bot.services.enrollment import Enrolled, EnrollmentRequest, enroll_patient
from bot.services.sites import add_site
from models import Base, Site

COORDINATOR = "cli:coordinator"


async def make_site(
    session: AsyncSession, clock: FakeClock, *, code: str = "PKU", timezone: str = "Asia/Shanghai"
) -> Site:
    return await add_site(
        session,
        code=code,
        name=f"Site {code}",
        timezone=timezone,
        phone="+86 10 8888 0000",
        actor=COORDINATOR,
        now=clock.now(),
    )


async def enroll(
    session: AsyncSession,
    protocol: StudyProtocol,
    clock: FakeClock,
    *,
    study_id: str = "S001",
    site: str = "PKU",
    group: str = "il2",
    enrolled_on: date | None = None,
    **extra: object,
) -> Enrolled:
    request = EnrollmentRequest.model_validate(
        {"study_id": study_id, "site": site, "group": group, "enrolled_on": enrolled_on, **extra}
    )
    return await enroll_patient(session, request=request, protocol=protocol, actor=COORDINATOR, now=clock.now())


async def count(session: AsyncSession, model: type[Base]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)
