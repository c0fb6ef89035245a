"""A coordinator's actions on the patient page: re-invite with a printable QR code, withdraw, reinstate, correct an
answer with a reason. Each is CSRF-checked and audited; clinicians get 403, another site's coordinator 404; bad
input is refused on the page with nothing written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from models import (
    Answer,
    AuditEvent,
    ContactKind,
    ContactStatus,
    FormKind,
    InviteCode,
    Patient,
    PatientStatus,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    StaffRole,
)
from tests.console_fixtures import console_client, linked_staff, signed_in, staff_with
from tests.study_seed import Seeded, seed_study

PKU_CLINICIAN = 502


async def patient_named(engine: AsyncEngine, study_id: str) -> Patient:
    async with session_factory(engine)() as session:
        found = await session.scalar(select(Patient).where(Patient.study_id == study_id))
    assert found is not None
    return found


async def audit_count(engine: AsyncEngine) -> int:
    """Audit events of study data (signing in to the console is audited too, but is not a change)."""
    async with session_factory(engine)() as session:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action.not_like("web.%"))
        return int(await session.scalar(query) or 0)


async def last_event(engine: AsyncEngine) -> AuditEvent:
    async with session_factory(engine)() as session:
        found = await session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert found is not None
    return found


async def checked_in_month_1(engine: AsyncEngine, clock: FakeClock, patient: Patient) -> None:
    """The patient submitted month 1: no fever, no symptoms."""
    async with session_factory(engine)() as session:
        contact = await session.scalar(
            select(ScheduledContact).where(
                ScheduledContact.patient_id == patient.id,
                ScheduledContact.kind == ContactKind.CHECKIN,
                ScheduledContact.month == 1,
            )
        )
        assert contact is not None
        contact.status = ContactStatus.DONE
        response = QuestionnaireResponse(
            patient_id=patient.id,
            contact_id=contact.id,
            form=FormKind.CHECKIN,
            status=ResponseStatus.SUBMITTED,
            started_at=clock.now(),
            submitted_at=clock.now(),
        )
        session.add(response)
        await session.flush()
        session.add_all(
            [
                Answer(response_id=response.id, item_id="fever", value="no", answered_at=clock.now()),
                Answer(response_id=response.id, item_id="symptoms", value=["none"], answered_at=clock.now()),
            ]
        )
        await session.commit()


async def as_coordinator(client: httpx.AsyncClient, engine: AsyncEngine, clock: FakeClock, seeded: Seeded) -> str:
    return await signed_in(client, engine, clock, await staff_with(engine, seeded.coordinator_a))


async def test_it_reinvites_a_patient_with_a_printable_qr_code(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    patient = await patient_named(engine, "PKU-003")
    async with console_client(engine, clock) as client:
        csrf = await as_coordinator(client, engine, clock, seeded)
        url = f"/patients/{patient.id}"
        assert f'action="{url}/reinvite"' in (await client.get(url)).text
        response = await client.post(f"{url}/reinvite", data={"csrf_token": csrf})
    assert response.status_code == 200
    assert "New link for PKU-003" in response.text
    assert "https://t.me/sle_followup_bot?start=" in response.text
    assert 'src="data:image/png;base64,' in response.text
    assert "Valid once, until 2026-" in response.text
    async with session_factory(engine)() as session:
        open_codes = await session.scalar(
            select(func.count())
            .select_from(InviteCode)
            .where(
                InviteCode.patient_id == patient.id, InviteCode.used_at.is_(None), InviteCode.expires_at > clock.now()
            )
        )
    assert open_codes == 1
    event = await last_event(engine)
    assert (event.action, event.actor) == ("patient.reinvite", f"staff:{(await staff_with(engine, 500)).id}")


async def test_it_withdraws_and_reinstates_a_patient(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    patient = await patient_named(engine, "PKU-003")
    url = f"/patients/{patient.id}"
    async with console_client(engine, clock) as client:
        csrf = await as_coordinator(client, engine, clock, seeded)
        withdrawn = await client.post(
            f"{url}/withdraw", data={"csrf_token": csrf, "kind": "stop-contact", "note": "moved abroad"}
        )
        assert withdrawn.status_code == 303
        assert withdrawn.headers["location"] == f"{url}?done=withdrawn"
        page = (await client.get(withdrawn.headers["location"])).text
        assert "Recorded: the patient&#39;s future contacts are cancelled." in page
        assert "no messages: clinic visits only" in page
        assert f'action="{url}/reinstate"' in page
        assert (await patient_named(engine, "PKU-003")).status is PatientStatus.CLINIC_ONLY
        assert (await last_event(engine)).action == "patient.end.clinic_only"
        reinstated = await client.post(f"{url}/reinstate", data={"csrf_token": csrf, "reason": "back from abroad"})
        assert reinstated.status_code == 303
        assert (
            "Reinstated: the contacts still ahead are planned again."
            in (await client.get(reinstated.headers["location"])).text
        )
    assert (await patient_named(engine, "PKU-003")).status is PatientStatus.ACTIVE
    event = await last_event(engine)
    assert event.action == "patient.reinstate"
    assert event.after is not None
    assert event.after["reason"] == "back from abroad"


async def test_it_corrects_an_answer_with_a_reason(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    patient = await patient_named(engine, "PKU-003")
    await checked_in_month_1(engine, clock, patient)
    url = f"/patients/{patient.id}"
    async with console_client(engine, clock) as client:
        csrf = await as_coordinator(client, engine, clock, seeded)
        fields = {"month": "1", "item_id": "symptoms", "value": "cough", "reason": "source document: cough"}
        corrected = await client.post(f"{url}/correct", data={"csrf_token": csrf, **fields})
        assert corrected.status_code == 303
        page = (await client.get(corrected.headers["location"])).text
    assert "Answer corrected; the original stays in the audit trail." in page
    async with session_factory(engine)() as session:
        answer = await session.scalar(select(Answer).where(Answer.item_id == "symptoms", Answer.corrected.is_(True)))
    assert answer is not None
    assert answer.value == ["cough"]
    event = await last_event(engine)
    assert event.before is not None
    assert event.before["value"] == ["none"]
    assert event.after == {"value": ["cough"], "reason": "source document: cough"}


ACTIONS: dict[str, dict[str, str]] = {
    "reinvite": {},
    "withdraw": {"kind": "withdraw-consent", "note": ""},
    "reinstate": {"reason": "back"},
    "correct": {"month": "1", "item_id": "fever", "value": "yes", "reason": "typo"},
}


@pytest.mark.parametrize("action", ACTIONS)
async def test_it_lets_only_coordinators_of_the_site_act(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, action: str
) -> None:
    await seed_study(engine, protocol, clock)
    patient = await patient_named(engine, "PKU-003")
    ber_coordinator = await linked_staff(
        engine, clock, site="BER", role=StaffRole.COORDINATOR, name="Herr Kühn", telegram_user_id=107
    )
    before = await audit_count(engine)
    for staff, expected in ((await staff_with(engine, PKU_CLINICIAN), 403), (ber_coordinator, 404)):
        async with console_client(engine, clock) as client:
            csrf = await signed_in(client, engine, clock, staff)
            page = (await client.get(f"/patients/{patient.id}")).text if expected == 403 else ""
            assert "/reinvite" not in page
            assert "/withdraw" not in page
            assert "/correct" not in page
            response = await client.post(
                f"/patients/{patient.id}/{action}", data={"csrf_token": csrf, **ACTIONS[action]}
            )
            assert response.status_code == expected
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, await staff_with(engine, 500))
        forged = await client.post(f"/patients/{patient.id}/{action}", data={"csrf_token": "0" * 64, **ACTIONS[action]})
        assert forged.status_code == 403
    assert await audit_count(engine) == before
    assert (await patient_named(engine, "PKU-003")).status is PatientStatus.ACTIVE


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("withdraw", {"kind": "holiday", "note": ""}, "kind: one of stop-contact, withdraw-consent"),
    ("reinstate", {"reason": "back"}, "PKU-003: cannot be reinstated from active"),
    ("correct", {"month": "one", "item_id": "fever", "value": "yes", "reason": "typo"}, "month: a number"),
    ("correct", {"month": "0", "item_id": "fever", "value": "yes", "reason": "typo"}, "month: a number from 1 to 60"),
    ("correct", {"month": "2", "item_id": "fever", "value": "yes", "reason": "typo"}, "no submitted check-in"),
    ("correct", {"month": "1", "item_id": "mood", "value": "yes", "reason": "typo"}, "is not a check-in item"),
    ("correct", {"month": "1", "item_id": "fever", "value": "maybe", "reason": "typo"}, "fever is one of yes, no"),
    ("correct", {"month": "1", "item_id": "fever", "value": "no", "reason": "typo"}, "of month 1 is &#39;no&#39;"),
    ("correct", {"month": "1", "item_id": "max_temp", "value": "50", "reason": "x"}, "not a valid max_temp"),
    ("correct", {"month": "1", "item_id": "fever", "value": "yes", "reason": " \u200b "}, "--reason: say why"),
    ("correct", {"month": "1", "item_id": "cough", "value": "yes"}, "--reason: say why"),
]


@pytest.mark.parametrize(("action", "fields", "problem"), BAD_INPUT)
async def test_it_refuses_bad_input_on_the_page_and_writes_nothing(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, action: str, fields: dict[str, Any], problem: str
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    patient = await patient_named(engine, "PKU-003")
    await checked_in_month_1(engine, clock, patient)
    before = await audit_count(engine)
    async with session_factory(engine)() as session:
        answers = await session.scalar(select(func.count()).select_from(Answer))
    async with console_client(engine, clock) as client:
        csrf = await as_coordinator(client, engine, clock, seeded)
        response = await client.post(f"/patients/{patient.id}/{action}", data={"csrf_token": csrf, **fields})
    assert response.status_code == 400
    assert "Not done: " in response.text
    assert problem in response.text
    assert "<h1>PKU-003</h1>" in response.text
    assert await audit_count(engine) == before
    async with session_factory(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Answer)) == answers
    assert (await patient_named(engine, "PKU-003")).status is PatientStatus.ACTIVE


async def test_it_refuses_to_reinvite_a_patient_whose_follow_up_ended(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    ended = await patient_named(engine, "PKU-001")
    before = await audit_count(engine)
    async with console_client(engine, clock) as client:
        csrf = await as_coordinator(client, engine, clock, seeded)
        assert "/reinvite" not in (await client.get(f"/patients/{ended.id}")).text
        response = await client.post(f"/patients/{ended.id}/reinvite", data={"csrf_token": csrf})
    assert response.status_code == 400
    assert "Not done: PKU-001: follow-up has ended (infected)" in response.text
    assert await audit_count(engine) == before
