"""A small study built through the real services: sites, staff, patients in both groups, answers, doses,
escalations and infections. Shared by the export, report and /status tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.services import checkin_submission, checkins, escalation, onboarding
from bot.services.infections import details_or_error, record_infection
from bot.services.sites import add_staff
from models import (
    ContactKind,
    ContactStatus,
    FormKind,
    InfectionSource,
    Patient,
    ScheduledContact,
    Staff,
    StaffRole,
)
from tests.bot_fixtures import enrolled
from tests.factories import make_site


@dataclass
class Seeded:
    chat_ids: list[int]
    coordinator_a: int
    admin: int


async def answer_report(
    engine: AsyncEngine,
    protocol: StudyProtocol,
    clock: FakeClock,
    patient: Patient,
    *,
    fever: str,
    temperature: str | None,
    symptom: str,
) -> None:
    async with session_factory(engine)() as session:
        stored = await session.get_one(Patient, patient.id)
        step = await checkins.start(session, patient=stored, form=FormKind.REPORT, now=clock.now())
        assert isinstance(step, checkins.AskItem)
        rid = step.response_id
        await checkins.choose(
            session, patient=stored, response_id=rid, item_id="fever", code=fever, protocol=protocol, now=clock.now()
        )
        if fever == "yes":
            assert temperature is not None
            await checkins.type_answer(session, patient=stored, text=temperature, protocol=protocol, now=clock.now())
        if symptom == "none":
            await checkins.choose(
                session,
                patient=stored,
                response_id=rid,
                item_id="symptoms",
                code="none",
                protocol=protocol,
                now=clock.now(),
            )
        else:
            await checkins.choose(
                session,
                patient=stored,
                response_id=rid,
                item_id="symptoms",
                code=symptom,
                protocol=protocol,
                now=clock.now(),
            )
            await checkins.choose(
                session,
                patient=stored,
                response_id=rid,
                item_id="symptoms",
                code="done",
                protocol=protocol,
                now=clock.now(),
            )
        await checkins.choose(
            session,
            patient=stored,
            response_id=rid,
            item_id="doctor_visit",
            code="no",
            protocol=protocol,
            now=clock.now(),
        )
        await checkin_submission.submit(session, patient=stored, response_id=rid, protocol=protocol, now=clock.now())


async def seed_study(engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock) -> Seeded:
    async with session_factory(engine)() as session:
        await make_site(session, clock, code="BER", timezone="Europe/Berlin")
    chats = []
    for number in range(1, 9):
        site = "PKU" if number <= 5 else "BER"
        invite = await enrolled(
            engine,
            protocol,
            clock,
            study_id=f"{site}-{number:03d}",
            site=site,
            group="il2" if number % 2 else "control",
            language="zh_CN" if number % 3 else "en",
            enrolled_on=date(2026, 3, 2) - timedelta(days=number),
        )
        chat = 70_000 + number
        async with session_factory(engine)() as session:
            linked = await onboarding.redeem(session, code=invite.code, chat_id=chat, now=clock.now())
            assert isinstance(linked, onboarding.LinkedPatient)
            await onboarding.give_consent(session, patient=linked.patient, agree=True, now=clock.now())
        chats.append(chat)
    staff_chats = {}
    for chat, (site, role) in {
        500: ("PKU", StaffRole.COORDINATOR),
        501: ("BER", StaffRole.ADMIN),
        502: ("PKU", StaffRole.CLINICIAN),
    }.items():
        async with session_factory(engine)() as session:
            staff, _code = await add_staff(
                session,
                site_code=site,
                role=role,
                name=f"Staff {chat}",
                actor="cli:seed",
                now=clock.now(),
                invite_valid_days=7,
            )
            staff.telegram_user_id, staff.language = chat, "en"
            await session.commit()
            staff_chats[role] = chat
    async with session_factory(engine)() as session:
        by_id = {patient.study_id: patient for patient in await session.scalars(select(Patient))}
    urgent = by_id["PKU-001"]
    await answer_report(engine, protocol, clock, urgent, fever="yes", temperature="39.9", symptom="dyspnea")
    await answer_report(engine, protocol, clock, by_id["PKU-002"], fever="yes", temperature="38.4", symptom="cough")
    await answer_report(engine, protocol, clock, by_id["PKU-003"], fever="no", temperature=None, symptom="none")
    await answer_report(engine, protocol, clock, by_id["BER-006"], fever="no", temperature=None, symptom="cough")
    async with session_factory(engine)() as session:
        clinician = await session.scalar(select(Staff).where(Staff.role == StaffRole.CLINICIAN))
        assert clinician is not None
        first = await escalation.unresolved_escalation(session, patient_id=urgent.id)
        assert first is not None
        await escalation.acknowledge(
            session, staff=clinician, escalation_id=first.id, now=clock.now() + timedelta(minutes=7)
        )
        await record_infection(
            session,
            patient=await session.get_one(Patient, urgent.id),
            source=InfectionSource.BOT,
            actor="staff:seed",
            now=clock.now(),
            escalation=first,
            details=details_or_error(
                onset_date=clock.now().date().isoformat(),
                site_type="pneumonia",
                pathogen="bacterial",
                organism="肺炎链球菌",
                ctcae_grade=3,
                treatments="iv_antimicrobial",
                hospitalized=True,
                outcome="ongoing",
            ),
        )
        await session.execute(
            update(ScheduledContact)
            .where(ScheduledContact.kind == ContactKind.DOSE, ScheduledContact.due_at < clock.now())
            .values(status=ContactStatus.TAKEN, answered_at=clock.now())
        )
        await session.commit()
    return Seeded(chat_ids=chats, coordinator_a=staff_chats[StaffRole.COORDINATOR], admin=staff_chats[StaffRole.ADMIN])
