"""Follow-up time that is true: the first infection is the earliest onset whatever the order of entry (export and
report agree), a lost patient is censored at the last contact, one who never linked Telegram is only counted in the
flow, and a cut-off in the future is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from bot.db import sync_url
from models import ContactKind, ContactStatus, Patient, PatientStatus, ScheduledContact
from tests.test_cli import followup, study  # noqa: F401 - the CLI's study fixture

TODAY = date.today()
BASELINE = TODAY - timedelta(days=120)


def _enroll(study_id: str, group: str) -> None:
    assert (
        followup(
            "patients", "enroll", "--site", "PKU", "--group", group, "--study-id", study_id,
            "--enrolled-on", BASELINE.isoformat(),
        )[0]
        == 0
    )  # fmt: skip


def _consent(database_url: str, *study_ids: str) -> None:
    """As if these patients had linked Telegram and agreed on their baseline day."""
    engine = create_engine(sync_url(database_url))
    with Session(engine) as session:
        session.execute(
            update(Patient)
            .where(Patient.study_id.in_(study_ids))
            .values(status=PatientStatus.ACTIVE, consented_at=datetime.combine(BASELINE, datetime.min.time(), UTC))
        )
        session.commit()
    engine.dispose()


def _infection(study_id: str, onset: date, site_type: str) -> None:
    code, _, err = followup(
        "infections", "record", "--study-id", study_id, "--onset", onset.isoformat(), "--site-type", site_type,
        "--pathogen", "bacterial", "--grade", "2", "--treatment", "oral_antimicrobial",
    )  # fmt: skip
    assert code == 0, err


def test_it_takes_the_earliest_onset_as_the_first_infection_in_the_export_and_the_report(study: str) -> None:  # noqa: F811
    _enroll("I001", "il2")
    _enroll("C001", "control")
    _consent(study, "I001", "C001")
    late, early = BASELINE + timedelta(days=60), BASELINE + timedelta(days=30)
    _infection("I001", late, "urinary")  # entered first, began later
    _infection("I001", early, "pneumonia")
    engine = create_engine(sync_url(study))
    with engine.connect() as connection:
        reason = connection.scalar(select(Patient.end_reason).where(Patient.study_id == "I001"))
    engine.dispose()
    assert reason == f"first confirmed infection (onset {early})"

    assert followup("export", "--out", "out")[0] == 0
    infections = pd.read_csv("out/infections.csv", encoding="utf-8-sig")
    first = infections[infections["first_infection"]]
    assert first[["study_id", "onset_date", "site_type"]].values.tolist() == [["I001", early.isoformat(), "pneumonia"]]

    assert followup("report", "--out", "report")[0] == 0
    incidence = pd.read_csv("report/tables/incidence.csv")
    il2 = incidence[incidence["group"] == "il2"].iloc[0]
    assert il2["infections"] == 1
    assert round(il2["person_years"] * 365.25) == 30, "person-time ends at the earliest onset"


def test_it_censors_a_lost_patient_at_the_last_contact_and_leaves_the_never_linked_out(study: str) -> None:  # noqa: F811
    _enroll("I001", "il2")
    _enroll("C001", "control")
    _enroll("C002", "control")  # never links Telegram
    _consent(study, "I001", "C001")
    last_dose = datetime.combine(BASELINE + timedelta(days=20), datetime.min.time(), UTC) + timedelta(hours=3)
    engine = create_engine(sync_url(study))
    with Session(engine) as session:
        patient_id = session.scalar(select(Patient.id).where(Patient.study_id == "I001"))
        session.execute(
            update(ScheduledContact)
            .where(
                ScheduledContact.patient_id == patient_id,
                ScheduledContact.kind == ContactKind.DOSE,
                ScheduledContact.cycle == 1,
                ScheduledContact.dose_number == 1,
            )
            .values(status=ContactStatus.TAKEN, answered_at=last_dose)
        )
        session.commit()
    engine.dispose()
    assert followup("patients", "lost", "I001", "--reason", "no answer to five calls")[0] == 0

    assert followup("report", "--out", "report")[0] == 0
    incidence = pd.read_csv("report/tables/incidence.csv").set_index("group")
    assert round(incidence.loc["il2", "person_years"] * 365.25) == 20, "censored at the last dose answer"
    assert round(incidence.loc["control", "person_years"] * 365.25) == 120, "C001 only: C002 never linked"
    flow = pd.read_csv("report/tables/flow.csv").set_index("stage")
    assert flow.loc["never_linked", "control"] == 1
    assert flow.loc["lost_to_follow_up", "il2"] == 1
    assert flow.loc["in_follow_up_at_cutoff", "control"] == 1


def test_it_refuses_a_cut_off_later_than_today(study: str) -> None:  # noqa: F811
    _enroll("I001", "il2")
    tomorrow = TODAY + timedelta(days=1)
    assert followup("report", "--out", "report", "--cutoff", tomorrow.isoformat()) == (
        1,
        "",
        f"error: --cutoff: {tomorrow} is later than today; follow-up time cannot be counted ahead\n",
    )
