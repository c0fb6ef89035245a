"""One-time invites: one winner when two accounts race with one code, void for deactivated staff, and the CLI
says when a link stops working."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.services import onboarding
from bot.services.sites import add_staff
from bot.simulator.harness import Harness
from models import AuditEvent, Patient, Staff, StaffRole
from tests.bot_fixtures import enrolled
from tests.factories import make_site
from tests.test_cli import followup, study  # noqa: F401 - the CLI's study fixture

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNTIL = re.compile(r"valid until (\d{4}-\d\d-\d\d \d\d:\d\d) \(Asia/Shanghai\)")


async def test_it_lets_exactly_one_of_two_accounts_racing_with_one_code_win(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    invite = await enrolled(engine, protocol, clock)

    async def redeem(chat_id: int) -> object:
        async with session_factory(engine)() as session:
            return await onboarding.redeem(session, code=invite.code, chat_id=chat_id, now=clock.now())

    results = await asyncio.gather(*(redeem(chat) for chat in (801, 802, 803, 804)))
    winners = [result for result in results if isinstance(result, onboarding.LinkedPatient)]
    assert len(winners) == 1
    assert results.count(onboarding.CodeProblem.USED) == 3
    async with session_factory(engine)() as session:
        patient = await session.scalar(select(Patient))
        assert patient is not None
        assert patient.telegram_chat_id == winners[0].patient.telegram_chat_id
        links = await session.scalars(select(AuditEvent).where(AuditEvent.action == "patient.link"))
        assert len(links.all()) == 1


async def test_it_refuses_the_invite_of_a_deactivated_staff_member(bot: Harness, engine: AsyncEngine) -> None:
    clock = FakeClock(datetime.now().astimezone())
    async with session_factory(engine)() as session:
        await make_site(session, clock)
        staff, code = await add_staff(
            session,
            site_code="PKU",
            role=StaffRole.CLINICIAN,
            name="Dr Li",
            actor="cli:coordinator",
            now=clock.now(),
            invite_valid_days=7,
        )
        await session.execute(update(Staff).where(Staff.id == staff.id).values(active=False))
        await session.commit()
    await bot.send(900, f"/start {code}", language="en")
    assert bot.last_text(900) == "This link has expired. Please ask your study coordinator for a new one."
    async with session_factory(engine)() as session:
        stored = await session.get_one(Staff, staff.id)
        assert stored.telegram_user_id is None


def _expected_until(days: int) -> datetime:
    return (datetime.now(SHANGHAI) + timedelta(days=days)).replace(tzinfo=None)


def _said_until(text: str) -> datetime:
    found = UNTIL.search(text)
    assert found is not None, text
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M")


def test_it_says_when_a_printed_link_expires_in_the_site_zone(study: str) -> None:  # noqa: F811
    code, _, err = followup("patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S001")
    assert code == 0, err
    assert abs(_said_until(err) - _expected_until(30)) < timedelta(minutes=2)
    code, out, err = followup("staff", "add", "--site", "PKU", "--role", "clinician", "--name", "Dr Li")
    assert code == 0, err
    assert abs(_said_until(out) - _expected_until(7)) < timedelta(minutes=2)


def test_it_says_when_imported_links_expire(study: str, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "patients.csv").write_text("study_id,site,group\nI001,PKU,il2\nI002,PKU,control\n", encoding="utf-8")
    code, _, err = followup("patients", "import", "patients.csv")
    assert code == 0, err
    assert err.startswith("imported 2 patients; the links are valid until ")
    assert abs(_said_until(err) - _expected_until(30)) < timedelta(minutes=2)
