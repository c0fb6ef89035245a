"""The deviations dataset: late and missed check-ins, doses skipped or unconfirmed, schedule changes, a control
patient reporting an IL-2 reaction and consent pending, each with its date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from bot.db import sync_url
from models import (
    Answer,
    ContactKind,
    ContactStatus,
    FormKind,
    Patient,
    PatientStatus,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
)
from tests.test_cli import followup, study  # noqa: F401 - the CLI's study fixture

BASELINE = date.today() - timedelta(days=100)
SUBMITTED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


def _contact(session: Session, study_id: str, **where: int) -> ScheduledContact:
    patient = session.scalars(select(Patient).where(Patient.study_id == study_id)).one()
    patient.status, patient.consented_at = PatientStatus.ACTIVE, datetime.now(UTC) - timedelta(days=99)
    query = select(ScheduledContact).where(ScheduledContact.patient_id == patient.id)
    for name, value in where.items():
        query = query.where(getattr(ScheduledContact, name) == value)
    return session.scalars(query).one()


def _response(session: Session, contact: ScheduledContact, *, late: bool, answers: dict[str, object]) -> None:
    response = QuestionnaireResponse(
        patient_id=contact.patient_id,
        contact_id=contact.id,
        form=FormKind.CHECKIN,
        status=ResponseStatus.SUBMITTED,
        started_at=SUBMITTED,
        submitted_at=SUBMITTED,
        late=late,
    )
    session.add(response)
    session.flush()
    session.add_all(Answer(response_id=response.id, item_id=item, value=value, answered_at=SUBMITTED)
                    for item, value in answers.items())  # fmt: skip


def test_it_exports_each_deviation_with_its_date(study: str) -> None:  # noqa: F811
    for study_id, group in (("S001", "il2"), ("C001", "control"), ("C002", "control")):
        assert followup("patients", "enroll", "--site", "PKU", "--group", group, "--study-id", study_id,
                        "--enrolled-on", BASELINE.isoformat())[0] == 0  # fmt: skip
    engine = create_engine(sync_url(study))
    with Session(engine) as session:
        missed = _contact(session, "S001", kind=ContactKind.CHECKIN, month=1)
        missed.status = ContactStatus.MISSED
        missed_on = missed.planned_date
        _response(session, _contact(session, "S001", kind=ContactKind.CHECKIN, month=2), late=True, answers={})
        for dose, status in ((1, ContactStatus.SKIPPED), (2, ContactStatus.UNCONFIRMED), (3, ContactStatus.TAKEN)):
            _contact(session, "S001", kind=ContactKind.DOSE, cycle=1, dose_number=dose).status = status
        reported = _contact(session, "C002", kind=ContactKind.CHECKIN, month=1)
        _response(session, reported, late=False, answers={"il2_reaction": ["fever_after_dose"]})
        session.execute(update(Patient).where(Patient.study_id == "C001").values(status=PatientStatus.ENROLLED))
        session.commit()
    engine.dispose()
    assert followup("patients", "update", "S001", "--reminder-time", "10:00", "--reason", "works mornings")[0] == 0

    assert followup("export", "--out", "out")[0] == 0
    found = pd.read_csv("out/deviations.csv", encoding="utf-8-sig", keep_default_na=False)
    rows = sorted(map(tuple, found[["study_id", "kind", "date", "detail"]].values.tolist()))
    today, day = date.today().isoformat(), SUBMITTED.date().isoformat()
    assert rows == sorted(
        [
            ("C001", "consent_pending", BASELINE.isoformat(), ""),
            ("C002", "control_reports_il2", day, '["fever_after_dose"]'),
            ("S001", "checkin_late", day, "month 2"),
            ("S001", "checkin_missed", missed_on.isoformat(), "month 1"),
            ("S001", "dose_skipped", BASELINE.isoformat(), "cycle 1 dose 1"),
            ("S001", "dose_unconfirmed", (BASELINE + timedelta(days=2)).isoformat(), "cycle 1 dose 2"),
            ("S001", "schedule_changed", today, "patient.update"),
        ]
    )
    codebook = pd.read_csv("out/codebook.csv", encoding="utf-8-sig")
    assert "consent_pending=baseline passed" in codebook.set_index("variable").loc["kind", "codes"]
