"""A patient's page: the timeline of contacts, answers with triage, escalations, infections and the audit trail;
only for staff of the patient's site (admins: every site)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.services.corrections import amend_infection, correct_answer
from models import Infection, Patient
from tests.console_fixtures import console_client, linked_staff, signed_in, staff_with
from tests.study_seed import seed_study
from tests.test_console_patient_actions import as_coordinator, checked_in_month_1, patient_named

PKU_CLINICIAN = 502


async def patient_id(engine: AsyncEngine, study_id: str) -> int:
    async with session_factory(engine)() as session:
        found = await session.scalar(select(Patient.id).where(Patient.study_id == study_id))
    assert found is not None
    return found


async def test_it_shows_the_whole_record_of_a_patient(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    await seed_study(engine, protocol, clock)
    clinician = await staff_with(engine, PKU_CLINICIAN)
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, clinician)
        board = (await client.get("/")).text
        url = f"/patients/{await patient_id(engine, 'PKU-001')}"
        assert f'<a href="{url}">PKU-001</a>' in board
        page = (await client.get(url)).text
    assert "<h1>PKU-001</h1>" in page
    assert "<dd>ended: infection</dd>" in page
    assert "urgent · confirmed infection" in page  # the escalation, by level and outcome
    assert "Reasons: temperature 39.5 °C or higher; dyspnea" in page
    assert "Acknowledged by Staff 502, " in page
    assert "<dt>Site</dt><dd>Pneumonia</dd>" in page  # the infection
    assert "<dt>Pathogen</dt><dd>Bacterial</dd>" in page
    assert "<dt>Organism</dt><dd>肺炎链球菌</dd>" in page
    assert "<dt>Hospitalized</dt><dd>Yes</dd>" in page
    assert "Symptom report · " in page  # the answers, with their triage
    assert "<dt>Highest temperature</dt><dd>39.9 °C</dd>" in page
    assert "<tr><td>1</td>" in page  # the check-in plan
    assert "cancelled (follow-up ended)" in page
    for action in ("patient.enroll", "report.submit", "escalation.acknowledge", "infection.record"):
        assert f"<td>{action}</td>" in page, action  # the audit trail
    assert "<code>status: &#34;enrolled&#34; → &#34;active&#34;</code>" in page


async def test_it_answers_another_sites_patient_like_a_missing_one(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    pku = f"/patients/{await patient_id(engine, 'PKU-002')}"
    ber_clinician = await linked_staff(engine, clock, site="BER", name="Dr Berg", telegram_user_id=105)
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, ber_clinician)
        other, missing = await client.get(pku), await client.get("/patients/999999")
        assert other.status_code == missing.status_code == 404
        assert other.text == missing.text
        assert (await client.get("/patients/abc")).status_code == 400
    for chat in (seeded.coordinator_a, seeded.admin, PKU_CLINICIAN):
        async with console_client(engine, clock) as client:
            await signed_in(client, engine, clock, await staff_with(engine, chat))
            assert (await client.get(pku)).status_code == 200


async def test_it_lists_the_corrections_of_answers_and_infections_with_who_when_and_why(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    patient = await patient_named(engine, "PKU-001")
    await checked_in_month_1(engine, clock, patient)
    async with session_factory(engine)() as session:
        infection = await session.scalar(select(Infection).where(Infection.patient_id == patient.id))
        assert infection is not None
        stored = await session.get_one(Patient, patient.id)
        await correct_answer(
            session, patient=stored, month=1, item_id="fever", value="yes", reason="clinic notes: fever",
            actor="cli:operator", protocol=protocol, now=clock.now(),
        )  # fmt: skip
        await amend_infection(
            session, infection_id=infection.id, changes={"ctcae_grade": 4}, reason="ICU stay on day 3",
            actor="cli:operator", now=clock.now(),
        )  # fmt: skip
    async with console_client(engine, clock) as client:
        csrf = await as_coordinator(client, engine, clock, seeded)
        fields = {"month": "1", "item_id": "symptoms", "value": "cough", "reason": "source document: cough"}
        assert (await client.post(f"/patients/{patient.id}/correct", data={"csrf_token": csrf, **fields})).is_redirect
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, await staff_with(engine, PKU_CLINICIAN))
        page = (await client.get(f"/patients/{patient.id}")).text
    corrections = page.split("<h2>Corrections</h2>", 1)[1].split("<h2>Audit trail</h2>", 1)[0]
    rows = corrections.split("<tr>")[2:]
    assert len(rows) == 3
    assert "<td>cli:operator</td><td>Check-in of month 1</td><td>Fever: No → Yes<br></td>" in rows[0]
    assert "<td>clinic notes: fever</td>" in rows[0]
    assert f"<td>cli:operator</td><td>Infection #{infection.id}</td>" in rows[1]
    assert "CTCAE grade: 3 · IV treatment or hospital → 4 · life-threatening<br>" in rows[1]
    assert "<td>ICU stay on day 3</td>" in rows[1]
    assert "<td>Staff 500</td><td>Check-in of month 1</td><td>Symptoms: None of these → Cough<br></td>" in rows[2]
    assert "<td>source document: cough</td>" in rows[2]
    assert page.count("<td>answer.correct</td>") == 2  # and in the audit trail
    assert "<td>infection.amend</td>" in page
