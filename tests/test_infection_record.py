"""The infection record a clinician can trust: grades with their CTCAE v5 meaning and the version stored, grade 5
and "fatal" together, a fatal infection ends follow-up as died without a word to the patient's chat and tells the
PI and the admins, onset dates as people type them, a bad detail refused in the reader's words as the other forms
refuse theirs."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from bot.db import session_factory
from bot.i18n import gettext_for
from bot.services.enrollment_request import EnrollmentRequest, request_problem
from bot.services.errors import DomainError
from bot.services.infection_dates import Refusal, typed_onset
from bot.services.infections import details_or_error
from models import DismissalReason, EscalationStatus, Infection, InfectionSite, Patient, PatientStatus
from tests.escalation_study import ADMIN, CLINICIAN_A, COORDINATOR_A, PATIENT, PI_A, Study, urgent_report
from tests.test_cli import counts, followup
from tests.test_cli import study as cli_study  # noqa: F401 - the CLI's study fixture
from tests.test_console_enroll_language import PYDANTIC_WORDS


async def _record_up_to_outcome(study: Study, grade_label: str) -> None:
    bot = study.bot
    await urgent_report(study)
    await study.jobs.tick()
    await bot.tap(CLINICIAN_A, "Acknowledge")
    await bot.tap(CLINICIAN_A, "Confirm infection")
    for label in ["Today", "Bloodstream", "Bacterial", "Skip", grade_label, "IV antimicrobial", "Done", "Yes"]:
        await bot.tap(CLINICIAN_A, label)


async def test_it_shows_each_grade_with_its_meaning_and_refuses_grade_5_without_a_fatal_outcome(
    study: Study,
) -> None:
    bot = study.bot
    await urgent_report(study)
    await study.jobs.tick()
    await bot.tap(CLINICIAN_A, "Acknowledge")
    await bot.tap(CLINICIAN_A, "Confirm infection")
    for label in ["Today", "Bloodstream", "Bacterial", "Skip"]:
        await bot.tap(CLINICIAN_A, label)
    grades = [label for label, _data in bot.stub.screen(CLINICIAN_A)[-1].buttons]
    assert grades == [
        "1 · mild, no treatment needed",
        "2 · oral treatment",
        "3 · IV treatment or hospital",
        "4 · life-threatening",
        "5 · death",
    ]
    for label in ["5 · death", "IV antimicrobial", "Done", "Yes", "Ongoing"]:
        await bot.tap(CLINICIAN_A, label)
    answered = [call for call in bot.stub.calls if call.method == "answerCallbackQuery"]
    assert answered[-1].params["text"] == "Grade 5 means death: grade 5 and the outcome “Fatal” go together."
    assert "Fatal" in [label for label, _data in bot.stub.screen(CLINICIAN_A)[-1].buttons]


async def test_it_records_a_fatal_infection_as_a_death_and_tells_the_pi_and_admins_not_the_patient(
    study: Study,
) -> None:
    bot = study.bot
    await _record_up_to_outcome(study, "5 · death")
    await bot.tap(CLINICIAN_A, "Fatal")
    assert bot.last_text(CLINICIAN_A).startswith("Date of death?"), "asked with the same date input as the onset"
    await bot.tap(CLINICIAN_A, "Today")
    before = len(bot.stub.texts_to(PATIENT))
    await bot.tap(CLINICIAN_A, "Save")
    await study.jobs.tick()
    assert len(bot.stub.texts_to(PATIENT)) == before, "nothing goes to a dead patient's chat"
    for chat in (PI_A, ADMIN):
        assert bot.stub.texts_to(chat)[-1].startswith(
            "⚫ S001 (PKU): an infection was recorded as fatal (CTCAE grade 5) by Dr Li."
        )
    assert not any(text.startswith("⚫") for text in bot.stub.texts_to(COORDINATOR_A))
    async with session_factory(study.engine)() as session:
        patient = await session.scalar(select(Patient))
        infection = await session.scalar(select(Infection))
    assert patient is not None
    assert infection is not None
    assert (patient.status, patient.died_on) == (PatientStatus.DIED, study.clock.now().date())
    assert (infection.ctcae_grade, infection.outcome.value, infection.ctcae_version) == (5, "fatal", "5.0")


@pytest.mark.parametrize(
    ("typed", "onset"),
    [
        ("2026-03-01", date(2026, 3, 1)),
        ("2026/3/1", date(2026, 3, 1)),
        ("2026年3月1日", date(2026, 3, 1)),
        ("3月1日", date(2026, 3, 1)),
        ("１２月３１日", date(2025, 12, 31)),  # full-width digits; no year: the latest such day not in the future
    ],
)
def test_it_reads_onset_dates_as_people_type_them(typed: str, onset: date) -> None:
    assert typed_onset(typed, date(2026, 3, 2)) == onset


@pytest.mark.parametrize("typed", ["yesterday", "2026-02-30", "13月1日", "2026/3"])
def test_it_refuses_what_is_not_a_date(typed: str) -> None:
    with pytest.raises(Refusal):
        typed_onset(typed, date(2026, 3, 2))


def test_it_refuses_grade_5_without_a_fatal_outcome_on_the_command_line(cli_study: str) -> None:  # noqa: F811
    assert followup("patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S001")[0] == 0
    before = counts(cli_study)
    record = ["infections", "record", "--study-id", "S001", "--onset", date.today().isoformat()]
    details = ["--site-type", "bloodstream", "--pathogen", "bacterial", "--treatment", "iv_antimicrobial"]
    assert followup(*record, *details, "--grade", "5") == (
        1,
        "",
        "error: Grade 5 means death: grade 5 and the outcome “Fatal” go together.\n",
    )
    assert followup(*record, *details, "--grade", "3", "--outcome", "fatal")[0] == 1
    assert counts(cli_study) == before
    code, out, err = followup(
        *record, *details, "--grade", "5", "--outcome", "fatal", "--died-on", date.today().isoformat()
    )
    assert (code, err) == (0, "")
    assert out == "infection recorded for S001; follow-up ended\n"


GOOD_DETAILS = {
    "onset_date": "2026-03-01",
    "site_type": "pneumonia",
    "pathogen": "bacterial",
    "ctcae_grade": 2,
    "treatments": "oral_antimicrobial",
}
SITES = [f"'{site}'" for site in InfectionSite]
LEFT_OUT = None  # a field not given at all


@pytest.mark.parametrize(
    ("bad_detail", "bad_enrollment", "english", "chinese"),
    [
        (
            {"site_type": "nowhere"},
            {"group": "placebo"},
            f"site_type: Input should be {', '.join(SITES[:-1])} or {SITES[-1]}",
            f"site_type：只能填 {', '.join(SITES[:-1])} 或 {SITES[-1]}。",
        ),
        ({"pathogen": LEFT_OUT}, {"group": LEFT_OUT}, "pathogen: Field required", "pathogen：必须填写。"),
        (
            {"organism": "x" * 201},
            {"site": "x" * 33},
            "organism: at most 200 characters",
            "organism：最多 200 个字符。",
        ),
        (
            {"ctcae_grade": 9},
            {"preventive": "bactrim"},
            "ctcae_grade: Input should be less than or equal to 5",  # no msgid of its own: pydantic's, in English
            "ctcae_grade：填写的值无效，请检查。",
        ),
    ],
)
def test_it_refuses_a_bad_detail_in_the_readers_words_as_the_enrollment_form_does(
    bad_detail: dict[str, object], bad_enrollment: dict[str, object], english: str, chinese: str
) -> None:
    details = {field: value for field, value in {**GOOD_DETAILS, **bad_detail}.items() if value is not LEFT_OUT}
    enrollment = {"study_id": "PKU-1", "site": "PKU", "group": "il2", **bad_enrollment}
    with pytest.raises(DomainError) as refused:
        details_or_error(**details)
    with pytest.raises(ValidationError) as invalid:
        EnrollmentRequest.model_validate({field: value for field, value in enrollment.items() if value is not LEFT_OUT})
    assert refused.value.msgid == request_problem(invalid.value).msgid, "the same kind of message"
    assert str(refused.value) == english, "the command line reads English"
    translated = refused.value.translated(gettext_for("zh_CN"))
    assert translated == chinese
    assert not [words for words in PYDANTIC_WORDS if words in translated]


async def _not_an_infection(study: Study) -> None:
    await urgent_report(study)
    await study.jobs.tick()
    await study.bot.tap(CLINICIAN_A, "Acknowledge")
    await study.bot.tap(CLINICIAN_A, "Not an infection")


async def test_it_offers_coded_reasons_for_not_an_infection(study: Study) -> None:
    bot = study.bot
    await _not_an_infection(study)
    question = bot.stub.screen(CLINICIAN_A)[-1]
    assert question.text == "Why is it not an infection? Tap a reason, or type it."
    assert [label for label, _data in question.buttons] == [
        "SLE flare",
        "IL-2 reaction",
        "Drug fever",
        "Another illness that looks like an infection",
        "Other (type the reason)",
    ]
    await bot.tap(CLINICIAN_A, "SLE flare")
    assert bot.last_text(CLINICIAN_A) == "Recorded: not an infection (SLE flare)."
    escalation = await study.escalation()
    assert (escalation.status, escalation.dismissal_code, escalation.resolution_reason) == (
        EscalationStatus.DISMISSED,
        DismissalReason.SLE_FLARE,
        None,
    )


async def test_it_asks_for_words_when_the_reason_is_other(study: Study) -> None:
    bot = study.bot
    await _not_an_infection(study)
    await bot.tap(CLINICIAN_A, "Other (type the reason)")
    assert bot.last_text(CLINICIAN_A) == "Please type the reason."
    assert (await study.escalation()).status is EscalationStatus.ACKNOWLEDGED
    await bot.send(CLINICIAN_A, "thyroiditis")
    escalation = await study.escalation()
    assert (escalation.dismissal_code, escalation.resolution_reason) == (DismissalReason.OTHER, "thyroiditis")


async def test_it_warns_of_an_implausible_grade_and_fixes_any_field_on_the_summary(study: Study) -> None:
    bot = study.bot
    await urgent_report(study)
    await study.jobs.tick()
    await bot.tap(CLINICIAN_A, "Acknowledge")
    await bot.tap(CLINICIAN_A, "Confirm infection")
    for label in ["Today", "Pneumonia", "Bacterial", "Skip", "3 · IV", "None", "Done", "No", "Ongoing"]:
        await bot.tap(CLINICIAN_A, label)
    summary = bot.last_text(CLINICIAN_A)
    assert "⚠ CTCAE grade 3 means treatment was needed, but the treatment is “None”." in summary
    await bot.tap(CLINICIAN_A, "✏ Treatment")
    assert bot.last_text(CLINICIAN_A) == "Treatment? Tap every one given, then Done."
    labels = [label for label, _data in bot.stub.screen(CLINICIAN_A)[-1].buttons]
    assert "✓ None" in labels, "what was chosen shows"
    for label in ["IV antimicrobial", "Antiviral", "Antiviral", "Antifungal", "Done"]:  # None goes; Antiviral off
        await bot.tap(CLINICIAN_A, label)
    summary = bot.last_text(CLINICIAN_A)
    assert "• Treatment: IV antimicrobial, Antifungal" in summary
    assert "⚠" not in summary
    await bot.tap(CLINICIAN_A, "✏ CTCAE grade")
    await bot.tap(CLINICIAN_A, "5 · death")
    await bot.tap(CLINICIAN_A, "Save")
    answered = [call for call in bot.stub.calls if call.method == "answerCallbackQuery"]
    assert answered[-1].params["text"] == "Grade 5 means death: grade 5 and the outcome “Fatal” go together."
    await bot.tap(CLINICIAN_A, "✏ Outcome")
    await bot.tap(CLINICIAN_A, "Fatal")
    await bot.tap(CLINICIAN_A, "Today")  # the date of death, asked once the record is fatal
    await bot.tap(CLINICIAN_A, "Save")
    async with session_factory(study.engine)() as session:
        infection = await session.scalar(select(Infection))
    assert infection is not None
    assert (infection.ctcae_grade, infection.treatments, infection.outcome.value) == (
        5,
        ["iv_antimicrobial", "antifungal"],
        "fatal",
    )
