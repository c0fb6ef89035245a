"""Corrections with a reason (GCP, ALCOA+): the current value is exported with a `corrected` flag, the original
stays in the audit trail, which the export carries as its own dataset; bad input writes nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from bot.db import sync_url
from models import (
    Answer,
    AuditEvent,
    ContactKind,
    ContactStatus,
    FormKind,
    Patient,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
)
from tests.test_cli import counts, followup, study  # noqa: F401 - the CLI's study fixture

TODAY = date.today()
BASELINE = TODAY - timedelta(days=45)


@pytest.fixture
def checked_in(study: str) -> str:  # noqa: F811
    """S001, enrolled 45 days ago, submitted month 1: no fever, no symptoms."""
    on = BASELINE.isoformat()
    assert (
        followup("patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S001", "--enrolled-on", on)[0]
        == 0
    )
    engine = create_engine(sync_url(study))
    with Session(engine) as session:
        contact = session.scalars(
            select(ScheduledContact).where(ScheduledContact.kind == ContactKind.CHECKIN, ScheduledContact.month == 1)
        ).one()
        contact.status = ContactStatus.DONE
        now = datetime.now(UTC)
        response = QuestionnaireResponse(
            patient_id=contact.patient_id,
            contact_id=contact.id,
            form=FormKind.CHECKIN,
            status=ResponseStatus.SUBMITTED,
            started_at=now,
            submitted_at=now,
        )
        session.add(response)
        session.flush()
        session.add_all(
            [
                Answer(response_id=response.id, item_id="fever", value="no", answered_at=now),
                Answer(response_id=response.id, item_id="symptoms", value=["none"], answered_at=now),
            ]
        )
        session.commit()
    engine.dispose()
    return study


def _rows(database_url: str, query: object) -> list[object]:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as connection:
        found = list(connection.execute(query))  # type: ignore[call-overload]
    engine.dispose()
    return found


def test_it_corrects_an_answer_and_exports_the_flag_and_the_audit_trail(checked_in: str) -> None:
    code, out, err = followup(
        "answers", "correct", "--study-id", "S001", "--month", "1", "--item", "symptoms",
        "--value", "cough,mouth,cough", "--reason", "patient called: had a cough",
    )  # fmt: skip
    assert code == 0, err
    assert out == "S001 month 1 symptoms: ['none'] corrected to ['cough', 'mouth']\n"
    (answer,) = _rows(checked_in, select(Answer.value, Answer.corrected).where(Answer.item_id == "symptoms"))
    assert answer[1] is True
    (event,) = _rows(
        checked_in, select(AuditEvent.before, AuditEvent.after).where(AuditEvent.action == "answer.correct")
    )
    assert event[0] == {"study_id": "S001", "month": 1, "item": "symptoms", "value": ["none"]}
    assert event[1] == {"value": answer[0], "reason": "patient called: had a cough"}

    assert followup("export", "--out", "out")[0] == 0
    answers = pd.read_csv("out/answers.csv", encoding="utf-8-sig")
    assert answers.set_index("item_id").loc["symptoms", "corrected"]
    assert not answers.set_index("item_id").loc["fever", "corrected"]
    audit = pd.read_csv("out/audit.csv", encoding="utf-8-sig", keep_default_na=False)
    corrected = audit[audit["action"] == "answer.correct"].iloc[0]
    assert corrected["reason"] == "patient called: had a cough"
    assert json.loads(corrected["before"])["value"] == ["none"]
    enrolled = audit[audit["action"] == "patient.enroll"].iloc[0]
    assert enrolled["study_id"] == "S001"
    assert "telegram_chat_id" not in enrolled["after"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2", "--item", "fever", "--value", "yes"], "S001 has no submitted check-in for month 2"),
        (["--month", "1", "--item", "mood", "--value", "yes"], "--item: 'mood' is not a check-in item"),
        (["--month", "1", "--item", "fever", "--value", "maybe"], "--value: fever is one of yes, no"),
        (["--month", "1", "--item", "fever", "--value", "no"], "--value: fever of month 1 is 'no' already"),
        (["--month", "1", "--item", "max_temp", "--value", "50"], "--value: '50' is not a valid max_temp (35 to 42.5)"),
        (["--month", "1", "--item", "symptoms", "--value", "none,cough"], "--value: 'none' cannot go with other codes"),
    ],
)
def test_it_refuses_a_bad_correction_in_one_line_and_writes_nothing(
    checked_in: str, args: list[str], message: str
) -> None:
    before = counts(checked_in)
    code, out, err = followup("answers", "correct", "--study-id", "S001", *args, "--reason", "checked the chart")
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {message}"), err
    assert err.count("\n") == 1
    assert counts(checked_in) == before
    assert _rows(checked_in, select(func.count()).select_from(Answer).where(Answer.corrected.is_(True))) == [(0,)]


def _record_infection(onset: date) -> None:
    code, _, err = followup(
        "infections", "record", "--study-id", "S001", "--onset", onset.isoformat(), "--site-type", "pneumonia",
        "--pathogen", "bacterial", "--grade", "3", "--treatment", "iv_antimicrobial", "--hospitalized",
    )  # fmt: skip
    assert code == 0, err


def test_it_amends_and_voids_an_infection_with_a_reason(checked_in: str) -> None:
    _record_infection(TODAY - timedelta(days=5))
    before = counts(checked_in)
    for args, message in [
        (["amend", "7", "--grade", "2", "--reason", "x"], "no infection #7"),
        (["amend", "1", "--reason", "x"], "nothing to change: give at least one field to amend"),
        (["amend", "1", "--grade", "9", "--reason", "x"], "ctcae_grade: Input should be less than or equal to 5"),
        (["amend", "1", "--onset", "2020-01-01", "--reason", "x"], f"onset: 2020-01-01 is before the patient's baseline {BASELINE}"),  # noqa: E501
        (["amend", "1", "--grade", "2", "--reason", "  "], "--reason: say why (it is kept in the audit trail)"),
        (["void", "1", "--reason", ""], "--reason: say why (it is kept in the audit trail)"),
    ]:  # fmt: skip
        assert followup("infections", *args) == (1, "", f"error: {message}\n"), args
    assert counts(checked_in) == before

    code, out, err = followup("infections", "amend", "1", "--grade", "2", "--not-hospitalized", "--reason", "oral only")
    assert (code, out, err) == (0, "infection #1 amended\n", "")
    (event,) = _rows(
        checked_in, select(AuditEvent.before, AuditEvent.after).where(AuditEvent.action == "infection.amend")
    )
    assert event == (
        {"ctcae_grade": 3, "hospitalized": True, "corrected": False},
        {"ctcae_grade": 2, "hospitalized": False, "corrected": True, "reason": "oral only"},
    )
    code, out, err = followup("infections", "void", "1", "--reason", "entered for the wrong patient")
    assert (code, err) == (0, "")
    assert out.startswith("infection #1 void; follow-up reopened; "), "it was the end of follow-up"
    assert followup("infections", "void", "1", "--reason", "again") == (1, "", "error: infection #1 is void already\n")
    assert followup("export", "--out", "out")[0] == 0
    infections = pd.read_csv("out/infections.csv", encoding="utf-8-sig", keep_default_na=False)
    row = infections.iloc[0]
    assert (row["infection_id"], row["ctcae_grade"], row["corrected"], row["void_reason"]) == (
        1, 2, True, "entered for the wrong patient",
    )  # fmt: skip
    assert not row["first_infection"], "a void infection is nobody's first"


def test_it_updates_a_patient_and_re_plans_only_what_is_ahead(checked_in: str) -> None:
    def plan() -> dict[tuple[str, str], int]:
        rows = _rows(
            checked_in,
            select(ScheduledContact.kind, ScheduledContact.status, func.count()).group_by(
                ScheduledContact.kind, ScheduledContact.status
            ),
        )
        return {(kind.value, status.value): number for kind, status, number in rows}  # type: ignore[attr-defined]

    before = plan()
    assert before[("dose", "planned")] > 0
    code, out, err = followup(
        "patients", "update", "S001", "--group", "control", "--reason", "randomisation list error"
    )
    assert code == 0, err
    assert out.startswith("S001 updated; ")
    after = plan()
    ahead = select(func.count()).where(
        ScheduledContact.kind == ContactKind.DOSE, ScheduledContact.due_at > datetime.now(UTC)
    )
    assert _rows(checked_in, ahead) == [(0,)]
    assert after[("dose", "planned")] < before[("dose", "planned")], "past dose rows stay"
    assert after[("checkin", "done")] == 1, "the submitted month 1 stays"
    assert after[("checkin", "planned")] == before[("checkin", "planned")]
    new_baseline = (BASELINE - timedelta(days=10)).isoformat()
    assert (
        followup("patients", "update", "S001", "--baseline", new_baseline, "--language", "en", "--reason", "date typo")[
            0
        ]
        == 0
    )
    (patient,) = _rows(checked_in, select(Patient.group, Patient.baseline_date, Patient.language, Patient.il2_start))
    assert [getattr(value, "value", value) for value in patient] == [
        "control",
        date.fromisoformat(new_baseline),
        "en",
        None,
    ]
    events = _rows(checked_in, select(AuditEvent.before, AuditEvent.after).where(AuditEvent.action == "patient.update"))
    assert events[0][0] == {"group": "il2", "il2_start": BASELINE.isoformat()}
    assert events[0][1]["reason"] == "randomisation list error"  # type: ignore[index]

    unchanged = counts(checked_in)
    for args, message in [
        (["--reason", "x"], "nothing to change: give --baseline, --group, --il2-start, --language or --reminder-time"),
        (["--baseline", "2026-02-30", "--reason", "x"], "--baseline: '2026-02-30' is not a date in the form YYYY-MM-DD"),  # noqa: E501
        (["--reminder-time", "9am", "--reason", "x"], "--reminder-time: use HH:MM, for example 09:00"),
        (["--language", "en", "--reason", " "], "--reason: say why (it is kept in the audit trail)"),
    ]:  # fmt: skip
        assert followup("patients", "update", "S001", *args) == (1, "", f"error: {message}\n"), args
    assert counts(checked_in) == unchanged
