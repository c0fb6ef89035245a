"""`followup demo`: a whole simulated study, offline. The real Application polls the loopback Bot API; a fake
clock jumps from one due moment to the next for two years; simulated patients and clinicians answer what the
bot sends them. Call `prepare(folder)` first (it creates the database), then `run_demo`."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_application
from bot.clock import FakeClock
from bot.config import SHIPPED_PROTOCOL, load_settings
from bot.db import create_engine, session_factory, upgrade_database
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.outbox import next_due
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sender import TelegramSender
from bot.exports.registry import export_study
from bot.i18n import DEFAULT_LANGUAGE, SOURCE_LANGUAGE, telegram_language
from bot.protocol import StudyProtocol, load_protocol
from bot.report_files import write_report
from bot.scheduler import Jobs
from bot.services.enrollment import enroll_patient
from bot.services.enrollment_request import EnrollmentRequest
from bot.services.report import load_study
from bot.services.sites import add_site, add_staff
from bot.simulator.bot_api import BotApiStub
from bot.simulator.harness import Harness, running
from models import Escalation, Patient, ScheduledContact, StaffRole

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
MONTHLY_INFECTION = {"il2": 0.02, "control": 0.04}  # simulated, not a claim about the drug
QUESTION = re.compile(r"^\(\d+/\d+\) ", re.MULTILINE)  # "(3/10) Have you seen a doctor…"
SITES = (
    ("PKU", "北京大学人民医院 Peking University People's Hospital", "Asia/Shanghai", "+86 10 8832 5555"),
    ("BER", "Charité Berlin (demo)", "Europe/Berlin", "+49 30 450 50"),
)
SITE_LANGUAGES = {"PKU": DEFAULT_LANGUAGE, "BER": SOURCE_LANGUAGE}  # what the simulated people there speak


@dataclass
class Person:
    chat: int
    study_id: str = ""
    group: str = ""
    site: str = ""
    infected_on: date | None = None
    reported: bool = False


@dataclass
class Demo:
    harness: Harness
    clock: FakeClock
    rng: random.Random
    patients: dict[int, Person] = field(default_factory=dict)
    clinicians: dict[str, int] = field(default_factory=dict)
    seen: int = 0

    @property
    def stub(self) -> BotApiStub:
        return self.harness.stub

    def buttons(self, chat: int) -> list[tuple[int, str, str]]:
        """(message id, label, data) of the newest message in the chat that has buttons."""
        for message in reversed(self.stub.screen(chat)):
            if message.buttons:
                return [(message.message_id, label, data) for label, data in message.buttons]
        return []

    async def press(self, chat: int, prefix: str) -> bool:
        for message_id, _label, data in self.buttons(chat):
            if data.startswith(prefix):
                await self.harness.tap_data(chat, message_id, data)
                return True
        return False

    async def answer_questionnaire(self, person: Person, answers: dict[str, str | list[str]]) -> None:
        """Answer the open questionnaire item by item, as a patient would, until it is submitted."""
        for _ in range(40):
            last = self.stub.screen(person.chat)[-1]
            shown = (last.message_id, last.text)  # a tap edits the question in place
            datas = [data for _label, data in last.buttons]
            if any(data.startswith("qs|") for data in datas):
                await self.press(person.chat, "qs|")
                return
            if not QUESTION.search(last.text):  # not a question: nothing is open
                return
            question = next((data.split("|") for data in datas if data.startswith("q|")), None)
            if question is None:  # a typed item without option buttons: fever days
                await self.harness.send(person.chat, str(answers.get("fever_days", "3")))
            else:
                await self._answer_item(person, question[1], question[2], answers)
            newest = self.stub.screen(person.chat)[-1]
            if (newest.message_id, newest.text) == shown:
                return  # nothing moved: leave it (a real patient would too)

    async def _answer_item(self, person: Person, response: str, item: str, answers: dict[str, str | list[str]]) -> None:
        multi = item in ("symptoms", "immunosuppressants", "il2_reaction")
        wanted = answers.get(item, "none" if multi else "no")
        if item == "max_temp" and wanted != "not_measured":
            await self.harness.send(person.chat, str(wanted))
        elif isinstance(wanted, list):
            for code in wanted:
                await self.press(person.chat, f"q|{response}|{item}|{code}")
            await self.press(person.chat, f"q|{response}|{item}|done")
        elif not await self.press(person.chat, f"q|{response}|{item}|{wanted}"):
            await self.press(person.chat, f"q|{response}|{item}|")

    async def react(self) -> None:
        """Everyone reads what the bot sent since the last look, and does what a person would."""
        fresh = self.stub.transcript[self.seen :]
        self.seen = len(self.stub.transcript)
        for chat, side, text in fresh:
            if side != "bot":
                continue
            if chat in self.patients:
                await self.patient_reads(self.patients[chat], text)
            elif chat in self.clinicians.values():
                await self.clinician_reads(chat, text)
        self.seen = len(self.stub.transcript)

    async def patient_reads(self, person: Person, text: str) -> None:
        buttons = {data.split("|")[0] for _m, _l, data in self.buttons(person.chat)}
        if "dose" in buttons:
            roll = self.rng.random()
            choice = "taken" if roll < 0.88 else "skipped" if roll < 0.93 else None  # some never answer
            dose = next((data for _m, _l, data in self.buttons(person.chat) if data.startswith("dose|")), "")
            if choice is not None:
                await self.press(person.chat, dose.rsplit("|", 1)[0] + f"|{choice}")
        elif "checkin" in buttons and self.rng.random() < 0.8:
            await self.press(person.chat, "checkin|start")
            await self.answer_questionnaire(person, self.monthly_answers(person))

    def monthly_answers(self, person: Person) -> dict[str, str | list[str]]:
        answers: dict[str, str | list[str]] = {
            "steroid": "prednisone",
            "steroid_amount": self.rng.choice(["1", "1.5", "2", "3"]),
            "immunosuppressants": ["hydroxychloroquine", "mycophenolate"],
        }
        if self.rng.random() < 0.1:
            answers["symptoms"] = ["cough"]
        return answers

    async def clinician_reads(self, chat: int, text: str) -> None:
        if not text.startswith(("🚨", "⚠️")):
            return
        study_id = text.split(" · ")[1]
        person = next((p for p in self.patients.values() if p.study_id == study_id), None)
        if not await self.press(chat, "esc|") or person is None:
            return
        if person.infected_on is not None:
            await self.press(chat, "esc|")  # Confirm infection
            for field_name, choice in (
                ("onset_date", "0"),
                ("site_type", self.rng.choice(["upper_respiratory", "pneumonia", "urinary", "herpes_zoster"])),
                ("pathogen", self.rng.choice(["bacterial", "viral"])),
                ("organism", "skip"),
                ("ctcae_grade", self.rng.choice(["2", "2", "3"])),
                ("treatments", "oral_antimicrobial"),
                ("treatments", "done"),
                ("hospitalized", "no"),
                ("outcome", "resolved"),
            ):
                await self.press(chat, f"inf|{field_name}|{choice}")
            await self.press(chat, "inf|save|")
        else:
            message_id, _label, data = self.buttons(chat)[-1]
            await self.harness.tap_data(chat, message_id, data)  # Not an infection
            await self.harness.send(chat, "Lupus activity, no infection found at the visit.")

    def draw_illnesses(self, days: int) -> list[tuple[datetime, Person]]:
        """When each patient falls ill (if within the simulated days): a daily hazard, drawn up front."""
        events = []
        for person in self.patients.values():
            daily = MONTHLY_INFECTION[person.group] / 30
            day = int(math.log(1 - self.rng.random()) / math.log(1 - daily))
            if day < days:
                events.append((datetime.combine(START.date() + timedelta(days=day), time(6), tzinfo=UTC), person))
        return sorted(events, key=lambda event: event[0])

    async def fall_ill(self, person: Person) -> None:
        if person.infected_on is None:
            person.infected_on = self.clock.now().date()
            urgent = self.rng.random() < 0.25
            await self.harness.send(person.chat, "/report")
            await self.answer_questionnaire(
                person,
                {
                    "fever": "yes",
                    "max_temp": "39.8" if urgent else "38.4",
                    "symptoms": ["dyspnea"] if urgent else [self.rng.choice(["cough", "urinary", "sore_throat"])],
                    "doctor_visit": "yes",
                },
            )


@dataclass(frozen=True)
class DemoResult:
    folder: Path
    transcript: list[tuple[int, str, str]]
    patient_chat: int
    clinician_chat: int
    infections: int
    files: list[Path]


def prepare(folder: Path) -> str:
    """A new SQLite database for the demo in `folder`; returns its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'demo.db'}"
    upgrade_database(url)
    return url


async def run_demo(
    *,
    folder: Path,
    patients: int = 40,
    days: int = 760,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    url = f"sqlite:///{folder / 'demo.db'}"
    engine = create_engine(url, durable=False)  # a throw-away database
    sessions = session_factory(engine)
    protocol = load_protocol(SHIPPED_PROTOCOL)
    clock = FakeClock(START)
    async with BotApiStub() as stub:
        settings = load_settings(
            telegram_token=stub.token,
            telegram_api_url=stub.base_url,
            bot_username="sle_followup_demo_bot",
            database_url=url,
        )
        application = build_application(settings=settings, protocol=protocol, clock=clock, sessions=sessions)
        async with running(stub, application) as harness:
            demo = Demo(harness, clock, random.Random(seed))  # noqa: S311 - a simulation, not security
            jobs = Jobs(
                sessions=sessions,
                protocol=protocol,
                clock=clock,
                dispatcher=Dispatcher(
                    sessions=sessions,
                    sender=TelegramSender(application.bot),
                    clock=clock,
                    limiter=RateLimiter(clock=clock, per_second=1000),
                    sleep=_no_wait,
                ),
            )
            await _enroll_everyone(demo, sessions, protocol, patients)
            illnesses = demo.draw_illnesses(days)
            end = START + timedelta(days=days)
            last_day = None
            while (moment := await _next_event(sessions, illnesses)) is not None and moment <= end:
                clock.set(max(moment, clock.now() + timedelta(seconds=1)))
                while illnesses and illnesses[0][0] <= clock.now():
                    await demo.fall_ill(illnesses.pop(0)[1])
                if clock.now().date() != last_day:  # the daily jobs, once per simulated day
                    last_day = clock.now().date()
                    await jobs.digest()
                    await jobs.housekeeping()
                for job in (jobs.contacts, jobs.escalations, jobs.outbox):
                    await job()
                await demo.react()
                if progress is not None:
                    progress(min((clock.now() - START).days, days), days)
        files = []
        async with sessions() as session:
            files += await export_study(session, out=folder / "export", fmt="csv")
            files.append(
                write_report(await load_study(session, protocol=protocol, cutoff=clock.now().date()), folder / "report")
            )
        infections = sum(1 for person in demo.patients.values() if person.infected_on)
        transcript = list(stub.transcript)
    await engine.dispose()
    first = min(demo.patients)
    return DemoResult(folder, transcript, first, demo.clinicians["PKU"], infections, files)


async def _no_wait(_seconds: float) -> None:
    return None


async def _next_event(
    sessions: async_sessionmaker[AsyncSession], illnesses: list[tuple[datetime, Person]]
) -> datetime | None:
    """The next moment anything is due: a contact, an escalation step, an outbox message, someone falling ill."""
    async with sessions() as session:
        moments = [
            await session.scalar(select(func.min(ScheduledContact.next_action_at))),
            await session.scalar(select(func.min(Escalation.next_step_at))),
            await next_due(session),
        ]
    if illnesses:
        moments.append(illnesses[0][0])
    return min((moment for moment in moments if moment is not None), default=None)


async def _enroll_everyone(
    demo: Demo, sessions: async_sessionmaker[AsyncSession], protocol: StudyProtocol, count: int
) -> None:
    now = demo.clock.now()
    async with sessions() as session:
        for code, name, zone, phone in SITES:
            await add_site(session, code=code, name=name, timezone=zone, phone=phone, actor="demo", now=now)
    staff_chat = 900
    for site, *_rest in SITES:
        for role, name in (
            (StaffRole.CLINICIAN, f"Dr {site} clinician"),
            (StaffRole.PI, f"Prof {site} PI"),
            (StaffRole.COORDINATOR, f"{site} coordinator"),
        ):
            async with sessions() as session:
                _staff, invite = await add_staff(
                    session, site_code=site, role=role, name=name, actor="demo", now=now, invite_valid_days=7
                )
            staff_chat += 1
            await demo.harness.send(staff_chat, f"/start {invite}", language=telegram_language(SITE_LANGUAGES[site]))
            if role is StaffRole.CLINICIAN:
                demo.clinicians[site] = staff_chat
    for number in range(1, count + 1):
        site = "PKU" if number % 3 else "BER"
        group = "il2" if number % 2 else "control"
        language = SITE_LANGUAGES[site]
        request = EnrollmentRequest.model_validate(
            {
                "study_id": f"{site}-{number:03d}",
                "site": site,
                "group": group,
                "language": language,
                "enrolled_on": now.date() - timedelta(days=number % 10),
            }
        )
        async with sessions() as session:
            enrolled = await enroll_patient(session, request=request, protocol=protocol, actor="demo", now=now)
        chat = 10_000 + number
        demo.patients[chat] = Person(chat, request.study_id, group, site)
        await demo.harness.send(chat, f"/start {enrolled.code}", language=telegram_language(language))
        await demo.press(chat, "consent|yes")
        await demo.press(chat, "time|09:00")
    demo.seen = len(demo.stub.transcript)
    async with sessions() as session:
        assert len((await session.scalars(select(Patient))).all()) == count
