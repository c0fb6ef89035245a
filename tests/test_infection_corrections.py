"""Correcting infections never rewrites what else happened to the patient: a death recorded on its own stands,
a withdrawal or a stop-contact comes back when the infection that ended follow-up after it is voided, the death
rests on a fatal infection that is left, and nothing dates an infection after the death."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from models import OutboxStatus, Patient, PatientStatus
from tests.test_cli import counts, followup, study  # noqa: F401 - the CLI's study fixture
from tests.test_corrections import checked_in  # noqa: F401 - S001, il2, month 1 submitted
from tests.test_infection_void import CHAT, TODAY, _linked_and_consented, _state

RECORD = ["infections", "record", "--study-id", "S001", "--site-type", "pneumonia", "--pathogen", "bacterial",
          "--treatment", "iv_antimicrobial"]  # fmt: skip
FATAL = ["--grade", "5", "--outcome", "fatal"]


def _pending_to_the_patient(database_url: str) -> int:
    return sum(
        message.chat_id == CHAT and message.status is OutboxStatus.PENDING for message in _state(database_url)[3]
    )


def _assert_clinic_only_as_before(database_url: str, clinic_only: tuple[Patient, dict[str, int], Any, Any]) -> None:
    """Back to clinic-only with the stop-contact's own end, no contact planned, nothing to their chat."""
    patient, contacts, _, _ = _state(database_url)
    assert (patient.status, patient.ended_at, patient.end_reason) == (
        PatientStatus.CLINIC_ONLY, clinic_only[0].ended_at, clinic_only[0].end_reason,
    )  # fmt: skip
    assert contacts == clinic_only[1]
    assert _pending_to_the_patient(database_url) == 0


def test_a_death_whose_typed_cause_reads_like_an_infections_is_never_withdrawn(checked_in: str) -> None:  # noqa: F811
    assert followup(*RECORD, "--onset", (TODAY - timedelta(days=9)).isoformat(), "--grade", "3")[0] == 0
    cause = "infection, CTCAE grade 5 - sepsis per ICU note"
    assert followup("patients", "died", "S001", "--date", TODAY.isoformat(), "--cause", cause)[0] == 0
    assert followup("infections", "amend", "1", "--organism", "E. coli", "--reason", "lab")[:2] == (
        0,
        "infection #1 amended\n",
    )
    assert followup("infections", "void", "1", "--reason", "wrong patient")[:2] == (0, "infection #1 void\n")
    patient = _state(checked_in)[0]
    assert (patient.status, patient.died_on, patient.end_reason) == (PatientStatus.DIED, TODAY, f"died: {cause}")


def test_voiding_the_fatal_infection_of_a_withdrawn_patient_leaves_them_withdrawn(checked_in: str) -> None:  # noqa: F811
    _linked_and_consented(checked_in)
    assert followup("patients", "withdraw", "S001", "--reason-code", "withdraw-consent", "--note", "no more")[0] == 0
    withdrawn = _state(checked_in)
    onset = TODAY - timedelta(days=6)
    died = followup(*RECORD, "--onset", onset.isoformat(), *FATAL, "--died-on", (TODAY - timedelta(days=2)).isoformat())
    assert died[0] == 0, died
    code, out, err = followup("infections", "void", "1", "--reason", "wrong patient")
    assert (code, err) == (0, ""), err
    assert out.endswith("is withdrawn; the patient is withdrawn again\n")
    patient, contacts, _, _ = _state(checked_in)
    before = withdrawn[0]
    assert (patient.status, patient.ended_at, patient.end_reason, patient.died_on) == (
        PatientStatus.WITHDRAWN, before.ended_at, before.end_reason, None,
    )  # fmt: skip
    assert contacts == withdrawn[1], "nothing planned again"
    assert _pending_to_the_patient(checked_in) == 0


def test_a_patient_who_asked_for_no_messages_is_not_told_and_comes_back_to_clinic_only(checked_in: str) -> None:  # noqa: F811
    _linked_and_consented(checked_in)
    assert followup("patients", "withdraw", "S001", "--reason-code", "stop-contact", "--note", "no messages")[0] == 0
    clinic_only = _state(checked_in)
    assert followup(*RECORD, "--onset", (TODAY - timedelta(days=6)).isoformat(), "--grade", "3")[0] == 0
    assert _state(checked_in)[0].status is PatientStatus.INFECTED
    assert _pending_to_the_patient(checked_in) == 0, "no closing message to a patient who asked for none"
    code, out, err = followup("infections", "void", "1", "--reason", "wrong patient")
    assert (code, out, err) == (
        0, "infection #1 void; follow-up reopened at clinic visits only (the patient asked for no messages)\n", "",
    )  # fmt: skip
    _assert_clinic_only_as_before(checked_in, clinic_only)


def test_the_death_rests_on_the_fatal_infection_left_and_nothing_is_dated_after_it(checked_in: str) -> None:  # noqa: F811
    first, second, died_on = TODAY - timedelta(days=9), TODAY - timedelta(days=7), TODAY - timedelta(days=5)
    assert followup(*RECORD, "--onset", first.isoformat(), *FATAL, "--died-on", died_on.isoformat())[0] == 0
    before = counts(checked_in)
    for args, message in [
        ([*RECORD, "--onset", second.isoformat(), *FATAL, "--died-on", TODAY.isoformat()],
         f"date of death: S001's death is recorded already ({died_on})"),
        ([*RECORD, "--onset", (died_on + timedelta(days=1)).isoformat(), "--grade", "2"],
         f"onset: {died_on + timedelta(days=1)} is after the patient's death ({died_on})"),
        (["infections", "amend", "1", "--onset", (died_on + timedelta(days=1)).isoformat(), "--reason", "typo"],
         f"onset: {died_on + timedelta(days=1)} is after the patient's death ({died_on})"),
        (["infections", "amend", "1", "--grade", "5", "--reason", "same"],
         "nothing to change: infection #1 has these values already"),
    ]:  # fmt: skip
        assert followup(*args) == (1, "", f"error: {message}\n"), args
    assert counts(checked_in) == before
    assert followup(*RECORD, "--onset", second.isoformat(), *FATAL)[0] == 0, "a second fatal one needs no date"
    code, out, err = followup("infections", "void", "1", "--reason", "duplicate")
    assert (code, out, err) == (0, "infection #1 void; the death now rests on infection #2\n", "")
    patient = _state(checked_in)[0]
    assert (patient.status, patient.died_on) == (PatientStatus.DIED, died_on)
    assert patient.end_reason == f"died of infection #2 (CTCAE grade 5, onset {second})"


def test_a_record_number_beyond_what_the_database_holds_is_a_usage_error_not_a_crash(checked_in: str) -> None:  # noqa: F811
    for command in (["infections", "void", "99999999999999999999", "--reason", "x"], ["staff", "reinvite", "0"]):
        code, out, err = followup(*command)
        assert (code, out) == (2, ""), command
        assert "Invalid value for" in err
        assert "Traceback" not in err


def test_a_recorded_date_of_death_is_corrected_with_a_reason(checked_in: str) -> None:  # noqa: F811
    onset, died_on, right = TODAY - timedelta(days=9), TODAY - timedelta(days=5), TODAY - timedelta(days=4)
    assert followup("patients", "death-date", "S001", "--date", right.isoformat(), "--reason", "x") == (
        1, "", "error: S001: no death is recorded (`followup patients died` records one)\n",
    )  # fmt: skip
    assert followup(*RECORD, "--onset", onset.isoformat(), *FATAL, "--died-on", died_on.isoformat())[0] == 0
    before = counts(checked_in)
    for date_given, message in [
        (died_on, f"--date: the date of death is {died_on} already"),
        (onset - timedelta(days=1),
         f"date of death: {onset - timedelta(days=1)} is before the onset of infection #1 ({onset})"),
        (TODAY + timedelta(days=1), f"--date: {TODAY + timedelta(days=1)} is in the future"),
    ]:  # fmt: skip
        assert followup("patients", "death-date", "S001", "--date", date_given.isoformat(), "--reason", "x") == (
            1, "", f"error: {message}\n",
        )  # fmt: skip
    assert counts(checked_in) == before
    code, out, err = followup("patients", "death-date", "S001", "--date", right.isoformat(), "--reason", "ICU note")
    assert (code, out, err) == (0, f"date of death of S001 corrected: {died_on} → {right}\n", "")
    patient, _, events, _ = _state(checked_in)
    assert (patient.status, patient.died_on) == (PatientStatus.DIED, right)
    assert (events[-1].action, events[-1].before, events[-1].after) == (
        "patient.death_date_corrected",
        {"died_on": died_on.isoformat()},
        {"died_on": right.isoformat(), "reason": "ICU note"},
    )  # fmt: skip


def test_a_stop_contact_survives_a_chain_of_corrections(checked_in: str) -> None:  # noqa: F811
    _linked_and_consented(checked_in)
    assert followup("patients", "withdraw", "S001", "--reason-code", "stop-contact", "--note", "no messages")[0] == 0
    clinic_only = _state(checked_in)
    first, fatal, died_on = TODAY - timedelta(days=9), TODAY - timedelta(days=6), TODAY - timedelta(days=3)
    assert followup(*RECORD, "--onset", first.isoformat(), "--grade", "2")[0] == 0
    infected = _state(checked_in)[0]
    assert followup(*RECORD, "--onset", fatal.isoformat(), *FATAL, "--died-on", died_on.isoformat())[0] == 0
    code, out, err = followup("infections", "void", "2", "--reason", "not fatal")
    assert (code, out, err) == (0, f"infection #2 void; the death recorded with it ({died_on}) is withdrawn\n", "")
    patient = _state(checked_in)[0]
    assert (patient.status, patient.ended_at, patient.end_reason) == (
        PatientStatus.INFECTED, infected.ended_at, infected.end_reason,
    ), "as before the death, to the second"  # fmt: skip
    code, out, err = followup("infections", "void", "1", "--reason", "no infection")
    assert (code, err) == (0, ""), err
    assert out.endswith("follow-up reopened at clinic visits only (the patient asked for no messages)\n")
    _assert_clinic_only_as_before(checked_in, clinic_only)


def test_no_death_is_dated_before_an_infection(checked_in: str) -> None:  # noqa: F811
    early, late = TODAY - timedelta(days=9), TODAY - timedelta(days=2)
    assert followup(*RECORD, "--onset", early.isoformat(), "--grade", "2")[0] == 0
    assert followup(*RECORD, "--onset", late.isoformat(), "--grade", "2")[0] == 0
    too_soon = (late - timedelta(days=1)).isoformat()
    before = counts(checked_in)
    refused = f"date of death: {too_soon} is before the onset of infection #2 ({late})"
    for args in (
        ["infections", "amend", "1", *FATAL, "--died-on", too_soon, "--reason", "fatal"],
        [*RECORD, "--onset", early.isoformat(), *FATAL, "--died-on", too_soon],
        ["patients", "died", "S001", "--date", too_soon, "--cause", "stroke"],
    ):
        assert followup(*args) == (1, "", f"error: {refused}\n"), args
    assert counts(checked_in) == before


def test_a_withdrawn_patient_with_a_confirmed_infection_is_not_reinstated(checked_in: str) -> None:  # noqa: F811
    assert followup("patients", "withdraw", "S001", "--reason-code", "withdraw-consent")[0] == 0
    onset = TODAY - timedelta(days=4)
    assert followup(*RECORD, "--onset", onset.isoformat(), "--grade", "2")[0] == 0
    assert _state(checked_in)[0].status is PatientStatus.WITHDRAWN
    before = counts(checked_in)
    assert followup("patients", "reinstate", "S001", "--reason", "changed their mind") == (
        1, "", f"error: S001: cannot be reinstated, infection #1 (onset {onset}) is recorded\n",
    )  # fmt: skip
    assert counts(checked_in) == before
