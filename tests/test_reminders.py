"""The plan becomes messages on a fake clock: check-ins, nudges, dose reminders, missed and unconfirmed."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot

from bot.clock import FakeClock
from bot.db import session_factory
from bot.delivery.outbox import next_due
from bot.protocol import StudyProtocol
from bot.scheduler import Jobs
from bot.services import onboarding
from bot.simulator.bot_api import BotApiStub
from bot.simulator.harness import Harness
from models import ContactKind, ContactStatus, OutboxMessage, Patient, PatientStatus, ScheduledContact
from tests.bot_fixtures import FakeSleep, dispatcher, enrolled

BERLIN = ZoneInfo("Europe/Berlin")
CHAT = 6060


@pytest.fixture
async def jobs(engine: AsyncEngine, stub: BotApiStub, clock: FakeClock, protocol: StudyProtocol) -> AsyncIterator[Jobs]:
    async with Bot(stub.token, base_url=stub.base_url) as bot:
        sessions = session_factory(engine)
        outbox = dispatcher(engine, bot, clock, FakeSleep(clock))
        yield Jobs(sessions=sessions, protocol=protocol, clock=clock, dispatcher=outbox)


async def consenting_patient(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, **extra: object
) -> Patient:
    invite = await enrolled(engine, protocol, clock, **extra)  # type: ignore[arg-type]
    async with session_factory(engine)() as session:
        linked = await onboarding.redeem(session, code=invite.code, chat_id=CHAT, now=clock.now())
        assert isinstance(linked, onboarding.LinkedPatient)
        await onboarding.give_consent(session, patient=linked.patient, agree=True, now=clock.now())
        await onboarding.set_reminder_time(
            session,
            patient=linked.patient,
            reminder_time=linked.patient.reminder_time,
            protocol=protocol,
            now=clock.now(),
        )
        return linked.patient


async def next_event(engine: AsyncEngine) -> datetime | None:
    async with session_factory(engine)() as session:
        contact = await session.scalar(select(func.min(ScheduledContact.next_action_at)))
        message = await next_due(session)
    return min((moment for moment in (contact, message) if moment is not None), default=None)


async def run_until(engine: AsyncEngine, jobs: Jobs, clock: FakeClock, end: datetime) -> None:
    """Jump the fake clock from one due moment to the next, ticking at each."""
    while (moment := await next_event(engine)) is not None and moment <= end:
        clock.set(max(moment, clock.now()))
        await jobs.tick()


async def test_it_sends_21_doses_and_24_checkins_over_two_years_across_daylight_saving(
    engine: AsyncEngine, jobs: Jobs, stub: BotApiStub, clock: FakeClock, protocol: StudyProtocol
) -> None:
    from tests.factories import make_site

    async with session_factory(engine)() as session:
        await make_site(session, clock, code="BER", timezone="Europe/Berlin")
    patient = await consenting_patient(engine, protocol, clock, site="BER", language="en")
    await run_until(engine, jobs, clock, clock.now() + timedelta(days=800))
    texts = Counter(text.split(":")[0].split("(")[0].strip() for text in stub.texts_to(CHAT))
    assert texts["💉 Today is your IL-2 injection day"] == 21
    assert texts["📋 It is time for your monthly check-in"] == 24
    assert texts["📋 A gentle reminder"] == 48  # two nudges for each unanswered check-in
    async with session_factory(engine)() as session:
        rows = list(await session.scalars(select(ScheduledContact).order_by(ScheduledContact.due_at)))
        sent = {row.dedupe_key: row.sent_at for row in await session.scalars(select(OutboxMessage))}
        status = (await session.get_one(Patient, patient.id)).status
    doses = [row for row in rows if row.kind is ContactKind.DOSE]
    assert {row.status for row in doses} == {ContactStatus.UNCONFIRMED}
    assert {row.status for row in rows if row.kind is ContactKind.CHECKIN} == {ContactStatus.MISSED}
    reminder_times = {sent[f"contact:{row.id}:0"].astimezone(BERLIN).time().replace(second=0) for row in rows}
    assert reminder_times == {time(9, 0)}
    offsets = {sent[f"contact:{row.id}:0"].astimezone(BERLIN).utcoffset() for row in doses}
    assert offsets == {timedelta(hours=1), timedelta(hours=2)}, "the doses straddle the change to summer time"
    assert status is PatientStatus.COMPLETED


async def test_it_sends_what_fell_due_while_down_once_and_closes_what_expired(
    engine: AsyncEngine, jobs: Jobs, stub: BotApiStub, clock: FakeClock, protocol: StudyProtocol
) -> None:
    await consenting_patient(engine, protocol, clock, language="en")
    clock.set(datetime(2026, 3, 6, 12, 0, tzinfo=UTC))  # down since before the first dose (2 March)
    await jobs.tick()
    await jobs.tick()
    async with session_factory(engine)() as session:
        doses = list(
            await session.scalars(
                select(ScheduledContact)
                .where(ScheduledContact.kind == ContactKind.DOSE)
                .order_by(ScheduledContact.due_at)
            )
        )
    assert [row.status for row in doses[:3]] == [
        ContactStatus.MISSED,
        ContactStatus.MISSED,
        ContactStatus.OPEN,
    ]
    assert len(stub.texts_to(CHAT)) == 1  # only 6 March's reminder, whose day is still open, and only once


async def test_it_records_missed_contacts_of_a_patient_who_never_consented(
    engine: AsyncEngine, jobs: Jobs, stub: BotApiStub, clock: FakeClock, protocol: StudyProtocol
) -> None:
    invite = await enrolled(engine, protocol, clock, group="control")
    await run_until(engine, jobs, clock, datetime(2026, 5, 20, tzinfo=UTC))
    async with session_factory(engine)() as session:
        statuses = [
            row.status
            for row in await session.scalars(
                select(ScheduledContact)
                .where(ScheduledContact.patient_id == invite.patient.id)
                .order_by(ScheduledContact.due_at)
            )
        ]
    assert statuses[:2] == [ContactStatus.MISSED, ContactStatus.MISSED]
    assert stub.calls == [call for call in stub.calls if call.method == "getMe"]


async def test_it_snoozes_a_dose_three_times_at_most_and_records_the_answer(
    bot: Harness, engine: AsyncEngine, jobs: Jobs, clock: FakeClock, protocol: StudyProtocol
) -> None:
    invite = await enrolled(engine, protocol, clock, language="en")
    await bot.send(CHAT, f"/start {invite.code}")
    await bot.tap(CHAT, "I agree")
    await bot.tap(CHAT, "09:00")
    await jobs.tick()  # 2 March 09:00 Shanghai: the first dose reminder
    assert "Today is your IL-2 injection day" in bot.last_text(CHAT)
    for _ in range(3):
        await bot.tap(CHAT, "Remind me later")
        clock.advance(timedelta(minutes=60))
        await jobs.tick()
        assert bot.last_text(CHAT).startswith("💉 Reminder: did you take today's IL-2 dose?")
    await bot.tap(CHAT, "Remind me later")
    answered = [call for call in bot.stub.calls if call.method == "answerCallbackQuery"]
    assert answered[-1].params["text"] == "I cannot remind you again today. Please tap Taken or Skipped."
    await bot.tap(CHAT, "Taken")
    async with session_factory(engine)() as session:
        first = await session.scalar(select(ScheduledContact).where(ScheduledContact.dedupe_key.like("dose:%:c1d1")))
    assert first is not None
    assert (first.status, first.snoozes, first.answered_at) == (ContactStatus.TAKEN, 3, clock.now())
    await bot.send(CHAT, "/doses")
    assert "taken" in bot.last_text(CHAT)


async def test_it_opens_a_checkin_with_a_start_button(
    bot: Harness, engine: AsyncEngine, jobs: Jobs, clock: FakeClock, protocol: StudyProtocol
) -> None:
    invite = await enrolled(engine, protocol, clock, language="en", group="control")
    await bot.send(CHAT, f"/start {invite.code}")
    await bot.tap(CHAT, "I agree")
    await bot.tap(CHAT, "09:00")
    clock.set(datetime(2026, 4, 2, 1, 0, tzinfo=UTC))
    await jobs.tick()
    assert "It is time for your monthly check-in (month 1 of 24)" in bot.last_text(CHAT)
    await bot.tap(CHAT, "Start")
    assert bot.last_text(CHAT).startswith("(1/9)")
