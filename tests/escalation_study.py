"""The escalation study: a Chinese-speaking IL-2 patient at PKU, the persona staff linked in Telegram, and the
scheduler's jobs sending through the loopback Bot API on the fake clock (the `study` fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.scheduler import Jobs
from bot.services.sites import add_staff
from bot.simulator.bot_api import BotApiStub
from bot.simulator.harness import Harness
from models import Escalation, StaffRole
from tests.bot_fixtures import FakeSleep, dispatcher, enrolled
from tests.factories import make_site

PATIENT = 200
CLINICIAN_A, PI_A, COORDINATOR_A, ADMIN, CLINICIAN_B, STRANGER = 101, 102, 103, 104, 105, 999
STAFF = {
    CLINICIAN_A: ("PKU", StaffRole.CLINICIAN, "Dr Li"),
    PI_A: ("PKU", StaffRole.PI, "Prof Zhang"),
    COORDINATOR_A: ("PKU", StaffRole.COORDINATOR, "Ms Wang"),
    ADMIN: ("BER", StaffRole.ADMIN, "Dr Admin"),
    CLINICIAN_B: ("BER", StaffRole.CLINICIAN, "Dr Berg"),
}


@dataclass
class Study:
    bot: Harness
    jobs: Jobs
    clock: FakeClock
    engine: AsyncEngine

    def alerts_to(self, chat: int) -> list[str]:
        return [message.text for message in self.bot.stub.screen(chat) if "S001" in message.text]

    async def escalation(self) -> Escalation:
        async with session_factory(self.engine)() as session:
            found = await session.scalar(select(Escalation))
            assert found is not None
            return found


@pytest.fixture
async def study(bot: Harness, engine: AsyncEngine, stub: BotApiStub, clock: FakeClock,
                protocol: StudyProtocol) -> AsyncIterator[Study]:  # fmt: skip
    async with session_factory(engine)() as session:
        await make_site(session, clock, code="BER", timezone="Europe/Berlin")
    invite = await enrolled(engine, protocol, clock)  # a Chinese-speaking patient; English-speaking staff
    for chat, (site, role, name) in STAFF.items():
        async with session_factory(engine)() as session:
            _staff, code = await add_staff(
                session,
                site_code=site,
                role=role,
                name=name,
                actor="cli:test",
                now=clock.now(),
                invite_valid_days=7,
            )
        await bot.send(chat, f"/start {code}", language="en")
    await bot.send(PATIENT, f"/start {invite.code}")
    await bot.tap(PATIENT, "我同意")
    await bot.tap(PATIENT, "09:00")
    async with Bot(stub.token, base_url=stub.base_url) as telegram:
        sessions = session_factory(engine)
        outbox = dispatcher(engine, telegram, clock, FakeSleep(clock))
        yield Study(bot, Jobs(sessions=sessions, protocol=protocol, clock=clock, dispatcher=outbox), clock, engine)


async def urgent_report(study: Study) -> None:
    bot = study.bot
    await bot.send(PATIENT, "/report")
    await bot.tap(PATIENT, "有")
    await bot.send(PATIENT, "39.9")
    await bot.tap(PATIENT, "喘不上气")
    await bot.tap(PATIENT, "完成")
    await bot.tap(PATIENT, "没有")
    await bot.tap(PATIENT, "提交")
