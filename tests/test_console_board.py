"""The follow-up board: each patient of the reader's scope, months as labelled cells, filters, sorting, paging."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.db import session_factory
from bot.protocol import StudyProtocol
from models import (
    ContactKind,
    ContactStatus,
    FormKind,
    Patient,
    PatientStatus,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    StaffRole,
)
from tests.bot_fixtures import enrolled
from tests.console_fixtures import console_client, linked_staff, signed_in, staff_with
from tests.study_seed import seed_study

ROW = re.compile(r'<th scope="row"><a href="/patients/\d+">([A-Z]{3}-\d{3})</a>')


def study_ids(html: str) -> list[str]:
    return ROW.findall(html)


def cells_of(html: str, study_id: str) -> list[str]:
    row = html.split(f">{study_id}</a>", 1)[1].split("</tr>", 1)[0]
    return re.findall(r'title="Month \d+: ([^"]+)"', row)


async def set_checkin(engine: AsyncEngine, study_id: str, month: int, status: ContactStatus) -> int:
    async with session_factory(engine)() as session:
        patient = await session.scalar(select(Patient).where(Patient.study_id == study_id))
        assert patient is not None
        contact = await session.scalar(
            select(ScheduledContact).where(
                ScheduledContact.patient_id == patient.id,
                ScheduledContact.kind == ContactKind.CHECKIN,
                ScheduledContact.month == month,
            )
        )
        assert contact is not None
        contact.status = status
        await session.commit()
        return contact.id


async def submit_for(engine: AsyncEngine, clock: FakeClock, contact_id: int, *, late: bool, partial: bool) -> None:
    async with session_factory(engine)() as session:
        contact = await session.get_one(ScheduledContact, contact_id)
        session.add(
            QuestionnaireResponse(
                patient_id=contact.patient_id,
                contact_id=contact.id,
                form=FormKind.CHECKIN,
                status=ResponseStatus.SUBMITTED,
                started_at=clock.now(),
                submitted_at=clock.now(),
                late=late,
                partial=partial,
            )
        )
        await session.commit()


async def test_it_shows_each_month_as_a_labelled_coloured_cell(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    await enrolled(engine, protocol, clock, study_id="PKU-001", enrolled_on=date(2025, 11, 20))
    await enrolled(engine, protocol, clock, study_id="PKU-002", enrolled_on=date(2025, 11, 20))
    # 2026-03-02: months 1-3 (Dec 20, Jan 20, Feb 20) are past; month 4 is on March 20
    await set_checkin(engine, "PKU-001", 1, ContactStatus.DONE)
    await set_checkin(engine, "PKU-001", 2, ContactStatus.MISSED)
    await set_checkin(engine, "PKU-001", 3, ContactStatus.OPEN)
    partial = await set_checkin(engine, "PKU-002", 1, ContactStatus.DONE)
    await submit_for(engine, clock, partial, late=False, partial=True)
    late = await set_checkin(engine, "PKU-002", 2, ContactStatus.MISSED)
    await submit_for(engine, clock, late, late=True, partial=False)
    async with session_factory(engine)() as session:
        withdrawn = select(Patient.id).where(Patient.study_id == "PKU-002")
        await session.execute(
            update(ScheduledContact)
            .where(ScheduledContact.month > 2, ScheduledContact.patient_id.in_(withdrawn))
            .values(status=ContactStatus.CANCELLED)
        )
        await session.execute(
            update(Patient).where(Patient.study_id == "PKU-002").values(status=PatientStatus.WITHDRAWN)
        )
        await session.commit()
    staff = await linked_staff(engine, clock)
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, staff)
        board = (await client.get("/")).text
    assert study_ids(board) == ["PKU-001", "PKU-002"]
    first = cells_of(board, "PKU-001")
    assert len(first) == 24
    assert first[:5] == ["on time", "missed", "due now", "upcoming", "upcoming"]
    assert cells_of(board, "PKU-002")[:4] == ["partial", "late"] + ["not applicable (follow-up ended)"] * 2
    assert '<td class="cell on_time" title="Month 1: on time">✓</td>' in board
    assert '<span class="badge overdue">overdue</span>' in board.split("PKU-002")[0]  # month 3, sent 10 days ago
    for name in ("on time", "late", "partial", "missed", "due now", "upcoming", "not applicable (follow-up ended)"):
        assert f"</span> {name}</li>" in board  # the legend
    assert "<td>in follow-up</td>" not in board  # PKU-001 was never linked
    assert "<td>enrolled, not linked yet</td>" in board
    assert "<td>withdrawn</td>" in board


async def test_it_shows_each_reader_their_own_site_and_admins_every_site_with_a_filter(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    pku_clinician = await staff_with(engine, 502)
    admin = await staff_with(engine, seeded.admin)
    ber_clinician = await linked_staff(engine, clock, site="BER", name="Dr Berg", telegram_user_id=105)
    pku = [f"PKU-00{number}" for number in range(1, 6)]
    ber = [f"BER-00{number}" for number in range(6, 9)]
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, pku_clinician)
        board = (await client.get("/")).text
        assert study_ids(board) == pku
        assert '<select name="site">' not in board
        assert study_ids((await client.get("/?site=BER")).text) == pku  # not theirs to choose
        assert '<span class="badge alert">1</span>' in board.split("PKU-003")[0].split("PKU-002")[1]
        assert "badge alert" not in board.split("PKU-002")[0]  # PKU-001's alert ended as an infection
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, ber_clinician)
        assert study_ids((await client.get("/")).text) == ber
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, admin)
        everything = (await client.get("/")).text
        assert study_ids(everything) == sorted(ber + pku)
        assert '<option value="BER">BER</option>' in everything
        assert study_ids((await client.get("/?site=BER")).text) == ber
        assert study_ids((await client.get("/?site=NOPE")).text) == []


async def test_it_filters_by_group_status_and_overdue_and_sorts(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    coordinator = await staff_with(engine, seeded.coordinator_a)
    clock.advance(timedelta(days=40))  # month 1 of PKU-003 (baseline 2026-02-27) was due on 2026-03-27
    await set_checkin(engine, "PKU-003", 1, ContactStatus.OPEN)
    just_sent = await set_checkin(engine, "PKU-005", 1, ContactStatus.OPEN)
    async with session_factory(engine)() as session:
        await session.execute(
            update(ScheduledContact)
            .where(ScheduledContact.id == just_sent)
            .values(due_at=clock.now() - timedelta(hours=23))
        )
        await session.commit()
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, coordinator)
        assert study_ids((await client.get("/?group=il2")).text) == ["PKU-001", "PKU-003", "PKU-005"]
        assert study_ids((await client.get("/?group=control")).text) == ["PKU-002", "PKU-004"]
        assert study_ids((await client.get("/?status=infected")).text) == ["PKU-001"]
        assert study_ids((await client.get("/?overdue=1")).text) == ["PKU-003"]
        assert study_ids((await client.get("/?sort=enrolled")).text) == [
            "PKU-001",
            "PKU-002",
            "PKU-003",
            "PKU-004",
            "PKU-005",
        ]
        assert study_ids((await client.get("/?sort=status&group=il2")).text) == ["PKU-003", "PKU-005", "PKU-001"]
        filtered = (await client.get("/?group=il2&status=active&overdue=1")).text
        assert '<option value="il2" selected>' in filtered
        assert 'name="overdue" value="1" checked' in filtered


@pytest.mark.parametrize("query", ["group=nope", "status=x", "sort=1", "page_number=abc", "page_number=1.5"])
async def test_it_answers_bad_filters_with_a_bad_request_page(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, query: str
) -> None:
    await enrolled(engine, protocol, clock, study_id="PKU-001")
    staff = await linked_staff(engine, clock)
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, staff)
        response = await client.get("/?" + query)
    assert response.status_code == 400
    assert "This request was refused" in response.text


async def test_it_pages_a_hundred_patients_at_a_time(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.services.board.PAGE_SIZE", 2)
    for number in range(1, 6):
        await enrolled(engine, protocol, clock, study_id=f"PKU-00{number}")
    staff = await linked_staff(engine, clock, role=StaffRole.COORDINATOR)
    async with console_client(engine, clock) as client:
        await signed_in(client, engine, clock, staff)
        first = (await client.get("/?group=il2")).text
        assert study_ids(first) == ["PKU-001", "PKU-002"]
        assert "5 patients · page 1 of 3" in first
        assert '<a href="/?site=&amp;group=il2&amp;status=&amp;overdue=&amp;sort=study_id&amp;page_number=2">' in first
        assert study_ids((await client.get("/?group=il2&page_number=3")).text) == ["PKU-005"]
        assert study_ids((await client.get("/?group=il2&page_number=" + "9" * 40)).text) == ["PKU-005"]
        assert study_ids((await client.get("/?group=il2&page_number=-4")).text) == ["PKU-001", "PKU-002"]
