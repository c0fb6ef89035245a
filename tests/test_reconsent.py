"""Consent asked again when the protocol names a new consent version: the next contact shows the consent screen
instead, nothing more is collected until the patient agrees, declining is a withdrawal of consent, and the red-flag
path never waits for it (the urgent advice and the clinicians' alert still go out)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.clock import FakeClock
from bot.config import SHIPPED_PROTOCOL, get_settings
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.scheduler import Jobs
from bot.simulator.bot_api import BotApiStub
from bot.simulator.harness import Harness
from models import (
    AuditEvent,
    ContactStatus,
    Escalation,
    Patient,
    PatientStatus,
    QuestionnaireResponse,
    ScheduledContact,
    StaffRole,
    TriageLevel,
)
from tests.bot_fixtures import FakeSleep, dispatcher, enrolled
from tests.test_cli import followup
from tests.test_patient_bot import onboard, open_checkin_month_1, staff_invite

PATIENT, CLINICIAN, COORDINATOR = 400, 401, 402
NEW_VERSION = "2.0"
CHANGED = "The consent text of this study has changed."
WORDS = "I can't breathe, fever 40"


@pytest.fixture
def protocol(protocol: StudyProtocol) -> StudyProtocol:
    """The protocol file now names consent version 2.0."""
    enrollment = protocol.enrollment.model_copy(update={"consent_version": NEW_VERSION})
    return protocol.model_copy(update={"enrollment": enrollment})


@dataclass
class Study:
    bot: Harness
    jobs: Jobs
    engine: AsyncEngine

    async def patient(self) -> Patient:
        async with session_factory(self.engine)() as session:
            return (await session.scalars(select(Patient))).one()

    async def actions(self) -> list[AuditEvent]:
        async with session_factory(self.engine)() as session:
            return list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))

    def screen_texts(self) -> list[str]:
        return self.bot.stub.texts_to(PATIENT)


@pytest.fixture(name="study")
async def study_fixture(
    bot: Harness, engine: AsyncEngine, stub: BotApiStub, clock: FakeClock, protocol: StudyProtocol
) -> AsyncIterator[Study]:
    """An English-speaking patient who agreed to consent version 1.0; a clinician and a coordinator at PKU."""
    invite = await enrolled(engine, protocol, clock, language="en")
    for chat, role in ((CLINICIAN, StaffRole.CLINICIAN), (COORDINATOR, StaffRole.COORDINATOR)):
        await bot.send(chat, f"/start {await staff_invite(engine, clock, role, f'Staff {chat}')}", language="en")
    await onboard(bot, invite.code, chat=PATIENT, agree="I agree")
    async with session_factory(engine)() as session:
        await session.execute(update(Patient).values(consent_version="1.0"))  # agreed before the new version
        await session.commit()
    async with Bot(stub.token, base_url=stub.base_url) as telegram:
        outbox = dispatcher(engine, telegram, clock, FakeSleep(clock))
        yield Study(
            bot, Jobs(sessions=session_factory(engine), protocol=protocol, clock=clock, dispatcher=outbox), engine
        )


async def test_it_asks_again_at_the_next_contact_and_collects_nothing_until_the_patient_agrees(
    study: Study, clock: FakeClock
) -> None:
    bot = study.bot
    await open_checkin_month_1(clock)
    before = len(study.screen_texts())
    await study.jobs.tick()
    sent = study.screen_texts()[before:]
    assert len(sent) == 1, sent
    assert sent[0].startswith(CHANGED), "the consent screen instead of the check-in reminder"
    assert [label for label, _data in bot.stub.screen(PATIENT)[-1].buttons] == ["I agree", "I do not agree"]

    await bot.send(PATIENT, "/checkin")
    assert bot.last_text(PATIENT).startswith(CHANGED), "/checkin shows the consent screen, not a question"
    async with session_factory(study.engine)() as session:
        assert list(await session.scalars(select(QuestionnaireResponse))) == [], "no check-in is opened"
    await study.jobs.tick()
    assert len(study.screen_texts()) == before + 2, "asked once a day by the scheduler, not at every pass"

    shown = bot.stub.screen(PATIENT)[-1].text
    await bot.tap(PATIENT, "I agree")
    assert bot.last_text(PATIENT) == "Thank you. Your study follow-up goes on as before."
    patient = await study.patient()
    assert (patient.status, patient.consent_version, patient.consent_language) == (
        PatientStatus.ACTIVE, NEW_VERSION, "en",
    )  # fmt: skip
    assert patient.consent_text_sha256 == hashlib.sha256(shown.encode()).hexdigest()
    events = {event.action: event for event in await study.actions()}
    asked, renewed = events["patient.reconsent_asked"], events["patient.reconsent"]
    assert (asked.before, asked.after) == ({"consent_version": "1.0"}, {"version": NEW_VERSION})
    assert renewed.before is not None
    assert renewed.after is not None
    assert (renewed.before["consent_version"], renewed.after["consent_version"]) == ("1.0", NEW_VERSION)
    assert renewed.after["consent_text_sha256"] == patient.consent_text_sha256
    assert renewed.occurred_at == clock.now()

    await study.jobs.tick()
    assert "monthly check-in" in study.screen_texts()[-1], "the open check-in goes out once agreed"
    await bot.send(PATIENT, "/checkin")
    assert bot.last_text(PATIENT).startswith("(1/")
    await bot.tap(PATIENT, "I agree")  # an old consent keyboard changes nothing now
    assert (await study.patient()).consent_version == NEW_VERSION


async def test_it_still_gives_the_urgent_advice_and_alerts_the_clinicians_while_consent_is_pending(
    study: Study, clock: FakeClock
) -> None:
    bot = study.bot
    before = len(study.screen_texts())
    await bot.send(PATIENT, WORDS)
    await study.jobs.tick()
    after = study.screen_texts()[before:]
    assert after[0].startswith("⚠️"), "the advice first, consent or not"
    assert "120" in after[0]
    assert any("S001" in text for text in bot.stub.texts_to(CLINICIAN))
    async with session_factory(study.engine)() as session:
        (escalation,) = list(await session.scalars(select(Escalation)))
    assert escalation.level is TriageLevel.URGENT

    await bot.send(PATIENT, "/report")
    texts = study.screen_texts()
    assert any(text.startswith(CHANGED) for text in texts[-3:]), "the consent screen is shown"
    assert texts[-1].startswith("(1/"), "and the report still goes on"
    await bot.tap(PATIENT, "Yes")
    await bot.send(PATIENT, "40.1")
    await study.jobs.tick()
    advice = [text for text in study.screen_texts() if text.startswith("⚠️")]
    assert len(advice) == 2, "the report's urgent answer brings the advice too"
    assert (await study.patient()).consent_version == "1.0", "still pending"


async def test_it_treats_declining_the_new_version_as_withdrawal_of_consent(study: Study, clock: FakeClock) -> None:
    bot = study.bot
    await bot.send(PATIENT, "/checkin")
    await bot.tap(PATIENT, "I do not agree")
    assert bot.last_text(PATIENT).startswith("Done: you have left the study.")
    patient = await study.patient()
    assert (patient.status, patient.consent_version) == (PatientStatus.WITHDRAWN, "1.0")
    assert patient.end_reason == f"withdraw-consent: did not agree to consent version {NEW_VERSION} in Telegram"
    async with session_factory(study.engine)() as session:
        planned = await session.scalars(
            select(ScheduledContact).where(ScheduledContact.status == ContactStatus.PLANNED)
        )
        assert list(planned) == []
    await study.jobs.tick()
    assert any(
        f"S001 did not agree to the new consent text (version {NEW_VERSION})" in text
        for text in bot.stub.texts_to(COORDINATOR)
    )


async def test_it_shows_coordinators_who_must_consent_again_in_the_list_and_the_deviations(
    study: Study, clock: FakeClock, cli_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shipped = SHIPPED_PROTOCOL
    bumped = tmp_path / "protocol.yaml"
    bumped.write_text(
        shipped.read_text(encoding="utf-8").replace('consent_version: "1.0"', f'consent_version: "{NEW_VERSION}"'),
        encoding="utf-8",
    )
    monkeypatch.setenv("FOLLOWUP_PROTOCOL_FILE", str(bumped))
    get_settings.cache_clear()
    await open_checkin_month_1(clock)
    await study.jobs.tick()  # the scheduler asks again: the pending consent is dated from here

    code, out, err = await asyncio.to_thread(followup, "patients", "list", "--consent-pending")
    assert (code, err) == (0, "")
    assert re.search(rf"S001\s+│\s+PKU\s+│\s+il2\s+│\s+active\s+│.*│\s+1\.0 → {NEW_VERSION}", out), out
    assert (await asyncio.to_thread(followup, "export", "--out", "out"))[0] == 0
    found = pd.read_csv("out/deviations.csv", encoding="utf-8-sig", keep_default_na=False)
    rows = found[found["kind"] == "reconsent_pending"][["study_id", "date"]].values.tolist()
    assert rows == [["S001", clock.now().date().isoformat()]]

    await study.bot.send(PATIENT, "/checkin")
    await study.bot.tap(PATIENT, "I agree")
    code, out, _ = await asyncio.to_thread(followup, "patients", "list", "--consent-pending")
    assert code == 0
    assert "S001" not in out, "agreed: no longer pending"
    code, out, _ = await asyncio.to_thread(followup, "patients", "list")
    assert re.search(rf"S001\s+│.*│\s+{NEW_VERSION}\s+│", out), out


async def _consent_version(study: Study, version: str) -> None:
    async with session_factory(study.engine)() as session:
        await session.execute(update(Patient).values(consent_version=version))
        await session.commit()


async def _checkin_begun_then_consent_changes(study: Study, clock: FakeClock, first_answer: str) -> None:
    """The patient opened this month's check-in and answered its first question under the version they agreed
    to; then the protocol's consent version changed."""
    await _consent_version(study, NEW_VERSION)
    await open_checkin_month_1(clock)
    await study.bot.send(PATIENT, "/checkin")
    await study.bot.tap(PATIENT, first_answer)
    assert "(2/" in study.bot.last_text(PATIENT)
    await _consent_version(study, "1.0")


async def _urgent_advice_and_alert(study: Study) -> None:
    await study.jobs.tick()
    assert any(text.startswith("⚠️") and "120" in text for text in study.screen_texts()), "the advice"
    async with session_factory(study.engine)() as session:
        (escalation,) = list(await session.scalars(select(Escalation)))
    assert escalation.level is TriageLevel.URGENT
    assert any("S001" in text for text in study.bot.stub.texts_to(CLINICIAN)), "the clinicians' alert"


async def test_it_acts_on_a_red_flag_tapped_in_a_check_in_held_for_consent(study: Study, clock: FakeClock) -> None:
    await _checkin_begun_then_consent_changes(study, clock, first_answer="No")  # no fever: the symptoms next
    await study.bot.tap(PATIENT, "Short of breath")
    assert study.bot.last_text(PATIENT).startswith(CHANGED), "the answer itself waits for consent"
    await _urgent_advice_and_alert(study)


async def test_it_acts_on_a_red_flag_typed_in_a_check_in_held_for_consent(study: Study, clock: FakeClock) -> None:
    await _checkin_begun_then_consent_changes(study, clock, first_answer="Yes")  # fever: the temperature next
    await study.bot.send(PATIENT, "40.1")
    assert study.bot.last_text(PATIENT).startswith(CHANGED), "the answer itself waits for consent"
    await _urgent_advice_and_alert(study)
