"""Consent is attributable: the version the protocol names, the language and a hash of the exact text shown are
stored with the "I agree", audited and exported."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.simulator.harness import Harness
from models import AuditEvent, Patient
from tests.bot_fixtures import enrolled
from tests.test_patient_bot import CHAT


async def test_it_stores_the_version_language_and_hash_of_the_consent_text_shown(
    bot: Harness, engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    invite = await enrolled(engine, protocol, clock)
    await bot.send(CHAT, f"/start {invite.code}")
    shown = bot.stub.screen(CHAT)[-1].text
    assert "您好" in shown
    await bot.tap(CHAT, "我同意")
    async with session_factory(engine)() as session:
        patient = await session.get_one(Patient, invite.patient.id)
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.consent"))
    expected = hashlib.sha256(shown.encode()).hexdigest()
    assert (patient.consent_version, patient.consent_language, patient.consent_text_sha256) == (
        protocol.enrollment.consent_version,
        "zh_CN",
        expected,
    )
    assert event is not None
    assert event.after is not None
    assert event.after["consent_text_sha256"] == expected
