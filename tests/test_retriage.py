"""A corrected check-in is triaged again: when the corrected answers now call for it, the site's clinicians are
alerted through the escalation chain, the patient is not messaged about a past report, and the stored triage
decision changes with its before and after in the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from bot.db import sync_url
from models import (
    AuditEvent,
    Escalation,
    OutboxMessage,
    Patient,
    QuestionnaireResponse,
    Staff,
    TriageDecision,
    TriageLevel,
)
from tests.test_cli import followup, study  # noqa: F401 - the CLI's study fixture
from tests.test_corrections import checked_in  # noqa: F401 - S001, il2, month 1 submitted: no fever, no symptoms

PATIENT_CHAT, CLINICIAN_CHAT = 5551, 7771


def _linked_with_a_clinician(database_url: str) -> None:
    assert followup("staff", "add", "--site", "PKU", "--role", "clinician", "--name", "Dr Li")[0] == 0
    engine = create_engine(sync_url(database_url))
    with Session(engine) as session:
        session.execute(update(Patient).values(telegram_chat_id=PATIENT_CHAT, consented_at=datetime.now(UTC)))
        session.execute(update(Staff).values(telegram_user_id=CLINICIAN_CHAT, linked_at=datetime.now(UTC)))
        response = session.scalars(select(QuestionnaireResponse)).one()
        session.add(
            TriageDecision(
                response_id=response.id,
                patient_id=response.patient_id,
                level=TriageLevel.NONE,
                reasons=[],
                decided_at=datetime.now(UTC),
            )
        )
        session.commit()
    engine.dispose()


def _state(database_url: str) -> tuple[TriageDecision, list[Escalation], list[OutboxMessage], list[AuditEvent]]:
    engine = create_engine(sync_url(database_url))
    with Session(engine, expire_on_commit=False) as session:
        found = (
            session.scalars(select(TriageDecision)).one(),
            list(session.scalars(select(Escalation))),
            list(session.scalars(select(OutboxMessage))),
            list(session.scalars(select(AuditEvent).where(AuditEvent.action == "triage.retriage"))),
        )
    engine.dispose()
    return found


def test_it_alerts_the_clinicians_when_a_corrected_answer_is_a_red_flag_and_not_the_patient(checked_in: str) -> None:  # noqa: F811
    _linked_with_a_clinician(checked_in)
    code, out, err = followup(
        "answers", "correct", "--study-id", "S001", "--month", "1", "--item", "symptoms", "--value", "dyspnea",
        "--reason", "chart: short of breath at the visit",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out == (
        "S001 month 1 symptoms: ['none'] corrected to ['dyspnea']; "
        "triaged again: urgent, the site's clinicians are alerted\n"
    )
    decision, escalations, messages, events = _state(checked_in)
    assert (decision.level, decision.reasons) == (TriageLevel.URGENT, ["symptom_dyspnea"])
    (escalation,) = escalations
    assert (escalation.level, escalation.reasons, escalation.response_id) == (
        TriageLevel.URGENT, ["symptom_dyspnea"], decision.response_id,
    )  # fmt: skip
    assert [message.chat_id for message in messages] == [CLINICIAN_CHAT], "no emergency advice for a past report"
    assert "S001" in messages[0].payload["text"]
    (event,) = events
    assert event.before is not None
    assert event.after is not None
    assert (event.before["level"], event.before["reasons"]) == ("none", [])
    assert (event.after["level"], event.after["reasons"]) == ("urgent", ["symptom_dyspnea"])
    assert event.after["reason"] == "chart: short of breath at the visit"

    code, out, err = followup(
        "answers", "correct", "--study-id", "S001", "--month", "1", "--item", "symptoms", "--value", "none",
        "--reason", "wrong line of the chart",
    )  # fmt: skip
    assert (code, out, err) == (0, "S001 month 1 symptoms: ['dyspnea'] corrected to ['none']\n", "")
    decision, escalations, messages, events = _state(checked_in)
    assert (decision.level, decision.reasons) == (TriageLevel.NONE, [])
    assert len(escalations) == 1, "a lower level raises nothing (the open alert is the clinicians' to resolve)"
    assert len(messages) == 1
    assert events[-1].after is not None
    assert events[-1].after["level"] == "none"


def test_it_re_triages_without_an_alert_when_the_correction_is_no_red_flag(checked_in: str) -> None:  # noqa: F811
    _linked_with_a_clinician(checked_in)
    code, out, _ = followup(
        "answers", "correct", "--study-id", "S001", "--month", "1", "--item", "symptoms", "--value", "cough",
        "--reason", "patient called",
    )  # fmt: skip
    assert (code, out) == (0, "S001 month 1 symptoms: ['none'] corrected to ['cough']\n")
    decision, escalations, messages, _events = _state(checked_in)
    assert (decision.level, decision.reasons) == (TriageLevel.REVIEW, ["symptom_cough"])
    assert (escalations, messages) == ([], []), "review goes to the daily digest, not an alert"
