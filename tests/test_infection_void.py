"""`followup infections void` of the infection that ended follow-up: the next first infection by onset becomes the
end, or, with none left, follow-up reopens from today (contacts ahead planned again, past ones stay), audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from bot.db import sync_url
from models import AuditEvent, ContactStatus, OutboxMessage, OutboxStatus, Patient, PatientStatus, ScheduledContact
from tests.test_cli import counts, followup, study  # noqa: F401 - the CLI's study fixture
from tests.test_corrections import checked_in  # noqa: F401 - S001, il2, month 1 submitted

TODAY = date.today()
CHAT = 424242


def _record(onset: date) -> str:
    code, out, err = followup(
        "infections", "record", "--study-id", "S001", "--onset", onset.isoformat(), "--site-type", "urinary",
        "--pathogen", "bacterial", "--grade", "2", "--treatment", "oral_antimicrobial",
    )  # fmt: skip
    assert code == 0, err
    return out


def _linked_and_consented(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    with Session(engine) as session:
        session.execute(
            update(Patient).values(
                status=PatientStatus.ACTIVE, telegram_chat_id=CHAT, consented_at=datetime.now(UTC), language="en"
            )
        )
        session.commit()
    engine.dispose()


def _state(database_url: str) -> tuple[Patient, dict[str, int], list[AuditEvent], list[OutboxMessage]]:
    engine = create_engine(sync_url(database_url))
    with Session(engine, expire_on_commit=False) as session:
        patient = session.scalars(select(Patient)).one()
        statuses: dict[str, int] = {}
        for status in session.scalars(select(ScheduledContact.status)):
            statuses[status.value] = statuses.get(status.value, 0) + 1
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        messages = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    engine.dispose()
    return patient, statuses, events, messages


def test_it_moves_the_end_to_the_next_infection_by_onset_then_reopens_follow_up(checked_in: str) -> None:  # noqa: F811
    _linked_and_consented(checked_in)
    assert _record(TODAY - timedelta(days=5)) == "infection recorded for S001; follow-up ended\n"
    _record(TODAY - timedelta(days=2))
    patient, ended, _, messages = _state(checked_in)
    assert patient.status is PatientStatus.INFECTED
    assert ended.get("planned", 0) == 0
    assert ended["cancelled"] > 0
    assert sum("closing:" in message.dedupe_key for message in messages) == 1

    assert followup("infections", "void", "9", "--reason", "typo") == (1, "", "error: no infection #9\n")
    code, out, err = followup("infections", "void", "1", "--reason", "entered for the wrong patient")
    assert (code, err) == (0, ""), err
    assert out == f"infection #1 void; follow-up now ends at the infection with onset {TODAY - timedelta(days=2)}\n"
    patient, still_ended, events, _ = _state(checked_in)
    assert patient.status is PatientStatus.INFECTED
    assert patient.end_reason == f"first confirmed infection (onset {TODAY - timedelta(days=2)})"
    assert still_ended == ended
    moved = [event for event in events if event.action == "patient.first_infection_moved"][-1]
    assert moved.after == {"end_reason": patient.end_reason, "reason": "entered for the wrong patient"}
    assert followup("export", "--out", "out")[0] == 0
    infections = pd.read_csv("out/infections.csv", encoding="utf-8-sig").set_index("infection_id")
    assert not infections.loc[1, "first_infection"]
    assert infections.loc[2, "first_infection"]

    before = counts(checked_in)
    code, out, err = followup("infections", "void", "2", "--reason", "not an infection after all")
    assert (code, err) == (0, ""), err
    assert out.startswith("infection #2 void; follow-up reopened; ")
    assert out.endswith(" contacts planned again\n")
    patient, reopened, events, messages = _state(checked_in)
    assert (patient.status, patient.ended_at, patient.end_reason) == (PatientStatus.ACTIVE, None, None)
    planned_again = int(out.split("; ")[2].split()[0])
    assert planned_again > 0
    assert reopened["planned"] == planned_again
    assert reopened.get("cancelled", 0) == ended["cancelled"] - planned_again, "contacts already past stay cancelled"
    assert reopened["done"] == 1, "the submitted month 1 stays"
    event = events[-1]
    assert event.action == "patient.follow_up_reopened"
    assert event.before == {"status": "infected", "ended_at": event.before["ended_at"], "end_reason": moved.after[
        "end_reason"]}  # fmt: skip
    assert event.after == {
        "status": "active", "ended_at": None, "end_reason": None, "reason": "not an infection after all",
        "contacts_planned_again": planned_again,
    }  # fmt: skip
    assert counts(checked_in)["audit_events"] == before["audit_events"] + 2  # the void and the reopening
    notice = messages[-1]
    assert (notice.chat_id, notice.status) == (CHAT, OutboxStatus.PENDING)
    assert notice.payload["text"].startswith("Your study team corrected a record: your follow-up in this study goes on")
    engine = create_engine(sync_url(checked_in))
    with Session(engine) as session:
        ahead = session.scalars(select(ScheduledContact).where(ScheduledContact.status == ContactStatus.PLANNED)).all()
    engine.dispose()
    assert all(contact.window_end.replace(tzinfo=UTC) > datetime.now(UTC) for contact in ahead)

    assert _record(TODAY - timedelta(days=1)) == "infection recorded for S001; follow-up ended\n"
    assert sum("closing:" in message.dedupe_key for message in _state(checked_in)[3]) == 2, "told again"


def test_an_amended_onset_moves_the_end_of_follow_up_with_it(checked_in: str) -> None:  # noqa: F811
    _record(TODAY - timedelta(days=5))
    moved_to = TODAY - timedelta(days=7)
    code, out, err = followup("infections", "amend", "1", "--onset", moved_to.isoformat(), "--reason", "onset typo")
    assert (code, err) == (0, ""), err
    assert out == f"infection #1 amended; follow-up now ends at the infection with onset {moved_to}\n"
    patient, _, events, _ = _state(checked_in)
    assert (patient.status, patient.end_reason) == (
        PatientStatus.INFECTED,
        f"first confirmed infection (onset {moved_to})",
    )
    assert events[-1].action == "patient.first_infection_moved"
