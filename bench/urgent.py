"""(e) Urgent latency: from an urgent Submit to the advice at the patient and the alert at the clinician, with
10,000 bulk reminders draining at the configured rate, next to the same with an empty outbox, in one run.

The resident dispatcher of `followup run` (`Dispatcher.serve`: a poll every second, woken at once when this
process commits an URGENT row) sends through python-telegram-bot's HTTP client to the loopback stub with
Telegram's limits switched on. An urgent Submit is the real one: `checkin_submission.submit` on a patient's
/report whose answers are 40.2 °C and short of breath (triage, the advice, the escalation and its first step, in
one transaction). Each submit is a different patient of one site whose clinician receives every alert, so
submits are spaced past Telegram's one message a second per chat. Arrival is the moment the stub receives the
sendMessage call.

The backlog window is shortened: the submits are measured while the first few hundred of the 10,000 reminders
drain (the rest are still queued when the run stops, and reported), instead of waiting 400 s for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Bot

from bench.databases import fresh
from bot.clock import SystemClock
from bot.config import SHIPPED_PROTOCOL
from bot.db import create_engine, session_factory
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import TelegramSender
from bot.protocol import StudyProtocol, load_protocol
from bot.services import checkin_submission, checkins, onboarding
from bot.services.enrollment import EnrollmentRequest, enroll_patient
from bot.services.sites import add_site, add_staff
from bot.simulator.bot_api import BotApiStub
from models import (
    Answer,
    FormKind,
    Lane,
    OutboxMessage,
    OutboxStatus,
    Patient,
    QuestionnaireResponse,
    ResponseStatus,
    StaffRole,
    TriageLevel,
)

PATIENT_CHATS = 1_000_000  # urgent chats, far from the reminders' chats 1..backlog
CLINICIAN_CHAT = 2_000_000
SPACING = 1.1  # seconds between two submits: one clinician gets every alert, Telegram allows 1 message/s a chat


class Arrivals:
    """When (perf_counter) the stub first and last received a message for each chat, and how many, noted as each
    call arrives."""

    def __init__(self, stub: BotApiStub) -> None:
        self.stub = stub
        self.at: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.counts: Counter[int] = Counter()
        self._seen = 0
        self._changed = asyncio.Condition()

    async def watch(self) -> None:
        while True:
            calls = await self.stub.wait_for_calls("sendMessage", self._seen + 1)
            now = time.perf_counter()
            for call in calls[self._seen :]:
                chat = call.params.get("chat_id")
                if isinstance(chat, int):
                    self.at.setdefault(chat, now)
                    self.last[chat] = now
                    self.counts[chat] += 1
            self._seen = len(calls)
            async with self._changed:
                self._changed.notify_all()

    async def arrived(self, *chats: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: all(chat in self.at for chat in chats))

    def count(self, chat: int) -> int:
        return self.counts[chat]

    async def counted(self, chat: int, count: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.counts[chat] >= count)


URGENT_ANSWERS = {"fever": "yes", "max_temp": 40.2, "symptoms": ["dyspnea"], "doctor_visit": "no"}


async def prepare(sessions: async_sessionmaker[AsyncSession], protocol: StudyProtocol, patients: int) -> list[int]:
    """A site, its linked clinician, and `patients` linked patients each at the summary of an urgent /report
    (answers written as rows, so nothing was raised before the Submit). Returns the patients' ids."""
    now = datetime.now(UTC)
    async with sessions() as session:
        await add_site(
            session, code="PKU", name="PKU", timezone="Asia/Shanghai", phone="+86 10 8888 0000", actor="bench", now=now
        )
        _staff, code = await add_staff(
            session, site_code="PKU", role=StaffRole.CLINICIAN, name="Dr Li", actor="bench", now=now,
            invite_valid_days=7,
        )  # fmt: skip
        await onboarding.redeem(session, code=code, chat_id=CLINICIAN_CHAT, now=now, language="en")
    ids = []
    for number in range(patients):
        async with sessions() as session:
            request = EnrollmentRequest(study_id=f"B{number:04d}", site="PKU", group="il2")
            enrolled = await enroll_patient(session, request=request, protocol=protocol, actor="bench", now=now)
            linked = await onboarding.redeem(session, code=enrolled.code, chat_id=PATIENT_CHATS + number, now=now)
            assert isinstance(linked, onboarding.LinkedPatient)
            await onboarding.give_consent(session, patient=linked.patient, agree=True, now=now)
            response = QuestionnaireResponse(
                patient_id=linked.patient.id, form=FormKind.REPORT, status=ResponseStatus.IN_PROGRESS, started_at=now
            )
            session.add(response)
            await session.flush()
            session.add_all(
                Answer(response_id=response.id, item_id=item, value=value, answered_at=now)
                for item, value in URGENT_ANSWERS.items()
            )
            await session.commit()
            ids.append(linked.patient.id)
    return ids


async def submit(sessions: async_sessionmaker[AsyncSession], protocol: StudyProtocol, patient_id: int) -> float:
    """One urgent Submit through the submission service. Returns when it started."""
    started = time.perf_counter()
    async with sessions() as session:
        patient = await session.get_one(Patient, patient_id)
        response = await checkins.in_progress(session, patient=patient)
        assert response is not None
        submitted = await checkin_submission.submit(
            session, patient=patient, response_id=response.id, protocol=protocol, now=datetime.now(UTC)
        )
        assert submitted is not None
        assert submitted.result.level is TriageLevel.URGENT
    return started


async def queue_backlog(engine: AsyncEngine, reminders: int) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        await connection.execute(
            insert(OutboxMessage),
            [
                {
                    "dedupe_key": f"bench:reminder:{chat}",
                    "chat_id": chat,
                    "method": "sendMessage",
                    "payload": {"text": "💉 Today is an IL-2 day"},
                    "status": OutboxStatus.PENDING,
                    "lane": int(Lane.BULK),
                    "not_before": now,
                    "attempts": 0,
                    "created_at": now,
                }
                for chat in range(1, reminders + 1)
            ],
        )


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1), "p99_ms": round(p99 * 1000, 1)}


async def phase(
    sessions: async_sessionmaker[AsyncSession],
    protocol: StudyProtocol,
    arrivals: Arrivals,
    patients: list[int],
    first: int,
    submits: int,
) -> dict[str, dict[str, float]]:
    advice, alert = [], []
    for number in range(first, first + submits):
        alerts_before = arrivals.count(CLINICIAN_CHAT)
        started = await submit(sessions, protocol, patients[number])
        await asyncio.wait_for(arrivals.arrived(PATIENT_CHATS + number), 10)
        await asyncio.wait_for(arrivals.counted(CLINICIAN_CHAT, alerts_before + 1), 10)
        advice.append(arrivals.at[PATIENT_CHATS + number] - started)
        alert.append(arrivals.last[CLINICIAN_CHAT] - started)
        await asyncio.sleep(SPACING)
    return {"advice": percentiles(advice), "alert": percentiles(alert)}


async def pending(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
        )
    return int(count or 0)


async def measure(reminders: int, rate: float, submits: int) -> dict[str, object]:
    protocol = load_protocol(SHIPPED_PROTOCOL)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        fresh(url)
        engine = create_engine(url, durable=False)
        sessions = session_factory(engine)
        async with BotApiStub() as stub:
            stub.enforce_limits(per_second=30, per_chat_per_second=1)
            arrivals = Arrivals(stub)
            watcher = asyncio.create_task(arrivals.watch())
            async with Bot(stub.token, base_url=stub.base_url) as bot:
                clock = SystemClock()
                dispatcher = Dispatcher(
                    sessions=sessions,
                    sender=TelegramSender(bot),
                    clock=clock,
                    limiter=RateLimiter(clock=clock, per_second=rate),
                )
                patients = await prepare(sessions, protocol, 2 * submits)
                serving = asyncio.create_task(dispatcher.serve(interval=1.0))
                empty = await phase(sessions, protocol, arrivals, patients, 0, submits)
                await queue_backlog(engine, reminders)
                await arrivals.arrived(1, 2, 3)  # the regular poll found the backlog: it is draining
                loaded = await phase(sessions, protocol, arrivals, patients, submits, submits)
                left = await pending(engine)
                serving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await serving
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            limited = stub.rate_limited
        await engine.dispose()
    return {
        "submits_per_phase": submits,
        "backlog": reminders,
        "backlog_left_at_the_end": left,
        "empty_queue": empty,
        "with_backlog": loaded,
        "p99_ratio": {kind: round(loaded[kind]["p99_ms"] / empty[kind]["p99_ms"], 2) for kind in ("advice", "alert")},
        "429s": limited,
    }


def run(reminders: int, rate: float, submits: int = 40) -> dict[str, object]:
    return asyncio.run(measure(reminders, rate, submits))
