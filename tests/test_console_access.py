"""Who may open which page and take which action in the console, persona by persona, over HTTP. Another site's
records answer 404 like missing ones; patients and strangers never get a session."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from bot.services import escalation
from models import Patient, StaffRole
from tests.console_fixtures import console_client, linked_staff, signed_in, staff_with
from tests.study_seed import seed_study
from tests.test_console_patient_actions import checked_in_month_1

PERSONAS = ["clinician_a", "clinician_b", "pi_a", "coordinator_a", "admin", "patient", "stranger"]
# persona: clinician A, clinician B, PI A, coordinator A, admin, patient, stranger
EXPECTED: dict[str, tuple[int, ...]] = {
    "GET /": (200, 200, 200, 200, 200, 401, 401),
    "GET /alerts": (200, 200, 200, 200, 200, 401, 401),
    "GET /patients/{pku}": (200, 404, 200, 200, 200, 401, 401),
    "GET /patients/{ber}": (404, 200, 404, 404, 200, 401, 401),
    "GET /patients/999999": (404, 404, 404, 404, 404, 401, 401),
    "GET /enroll": (403, 403, 403, 200, 200, 401, 401),
    "GET /exports": (403, 403, 403, 200, 200, 401, 401),
    "GET /report": (200, 200, 200, 200, 200, 401, 401),
    "POST /alerts/{alert}/dismiss": (303, 404, 303, 403, 303, 401, 401),
    "POST /alerts/{alert}/acknowledge": (303, 404, 303, 403, 303, 401, 401),
    "POST /enroll": (403, 403, 403, 200, 200, 401, 401),
    "POST /exports": (403, 403, 403, 200, 200, 401, 401),
    "POST /report": (200, 200, 200, 200, 200, 401, 401),
    "POST /patients/{act}/reinvite": (403, 404, 403, 200, 200, 401, 401),
    "POST /patients/{act}/withdraw": (403, 404, 403, 303, 303, 401, 401),
    "POST /patients/{act}/reinstate": (403, 404, 403, 303, 303, 401, 401),
    "POST /patients/{act}/correct": (403, 404, 403, 303, 303, 401, 401),
    "POST /patients/{ber}/withdraw": (404, 403, 404, 404, 303, 401, 401),
    "POST /language": (303, 303, 303, 303, 303, 401, 401),
    "POST /sign-out": (200, 200, 200, 200, 200, 401, 401),
}
FIELDS = {
    "/alerts/{alert}/dismiss": {"code": "sle_flare"},
    "/enroll": {"study_id": "PKU-200", "site": "PKU", "group": "il2"},
    "/exports": {"format": "csv"},
    "/report": {"cutoff": "2026-03-02"},
    "/patients/{act}/withdraw": {"kind": "stop-contact"},
    "/patients/{act}/reinstate": {"reason": "back from abroad"},
    "/patients/{act}/correct": {"month": "1", "item_id": "fever", "value": "yes", "reason": "source document"},
    "/patients/{ber}/withdraw": {"kind": "stop-contact"},
    "/language": {"language": "en", "next": "/"},
}


@pytest.mark.parametrize("persona", PERSONAS)
async def test_it_gives_each_persona_exactly_its_pages_and_actions(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, persona: str
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    async with session_factory(engine)() as session:
        ids = {patient.study_id: patient.id for patient in await session.scalars(select(Patient))}
        alert = await escalation.unresolved_escalation(session, patient_id=ids["PKU-002"])
    assert alert is not None
    async with session_factory(engine)() as session:
        await checked_in_month_1(engine, clock, await session.get_one(Patient, ids["PKU-003"]))
    staff = {
        "clinician_a": lambda: staff_with(engine, 502),
        "clinician_b": lambda: linked_staff(engine, clock, site="BER", name="Dr Berg", telegram_user_id=105),
        "pi_a": lambda: linked_staff(engine, clock, role=StaffRole.PI, name="Prof Zhang", telegram_user_id=102),
        "coordinator_a": lambda: staff_with(engine, seeded.coordinator_a),
        "admin": lambda: staff_with(engine, seeded.admin),
    }
    column = PERSONAS.index(persona)
    names = {"pku": ids["PKU-001"], "ber": ids["BER-006"], "alert": alert.id, "act": ids["PKU-003"]}
    async with console_client(engine, clock) as client:
        csrf = ""
        if persona in staff:
            csrf = await signed_in(client, engine, clock, await staff[persona]())
        elif persona == "patient":
            client.cookies.set("followup_session", f"{seeded.chat_ids[0]}.forged")  # no way to a session
        got = {}
        for request in EXPECTED:
            method, template = request.split(" ")
            path = template.format(**names)
            if method == "GET":
                response = await client.get(path)
            else:
                response = await client.post(path, data={"csrf_token": csrf, **FIELDS.get(template, {})})
            got[request] = response.status_code
            if response.status_code == 404:
                assert "Not found" in response.text
        assert got == {request: statuses[column] for request, statuses in EXPECTED.items()}
