"""Triage: the rules of DESIGN.md with the protocol's thresholds, as examples and as properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.cli import app
from bot.protocol import SYMPTOMS, StudyProtocol
from bot.services.triage import Answers, triage
from models import Group, TriageLevel

QUIET = {
    "fever": "no",
    "symptoms": ["none"],
    "doctor_visit": "no",
    "infection_diagnosed": "no",
    "antimicrobials": "no",
    "hospitalized": "no",
    "positive_test": "no",
}


def decide(
    protocol: StudyProtocol, group: str = "control", hours: float | None = None, **changes: Any
) -> tuple[str, list[str]]:
    result = triage(
        Answers.model_validate({**QUIET, **changes}),
        group=Group(group),
        rules=protocol.triage,
        hours_since_il2_dose=hours,
    )
    return result.level.value, list(result.reasons)


@pytest.mark.parametrize(
    ("changes", "level", "reason"),
    [
        ({}, "none", None),
        ({"fever": "yes", "max_temp": 39.5}, "urgent", "max_temp_urgent"),
        ({"symptoms": ["dyspnea"]}, "urgent", "symptom_dyspnea"),
        ({"symptoms": ["chest_pain"]}, "urgent", "symptom_chest_pain"),
        ({"symptoms": ["confusion"]}, "urgent", "symptom_confusion"),
        ({"hospitalized": "yes"}, "urgent", "hospitalized"),
        ({"hospitalized": "yes", "hospital_reason": "illness"}, "urgent", "hospitalized"),
        ({"hospitalized": "yes", "hospital_reason": "other"}, "urgent", "hospitalized"),
        ({"hospitalized": "yes", "hospital_reason": "planned_treatment", "in_hospital_now": "yes"}, "none", None),
        ({"fever": "yes", "symptoms": ["headache_stiff_neck"]}, "urgent", "fever_with_headache_stiff_neck"),
        (
            {"fever": "yes", "max_temp": 38.0, "symptoms": ["headache_stiff_neck"]},
            "urgent",
            "fever_with_headache_stiff_neck",
        ),
        ({"symptoms": ["headache_stiff_neck"]}, "review", "symptom_headache_stiff_neck"),
        ({"fever": "yes", "max_temp": 37.6, "symptoms": ["chills"]}, "infection", "fever_with_chills"),
        ({"symptoms": ["chills"]}, "review", "symptom_chills"),
        ({"fever": "yes", "max_temp": 38.0}, "infection", "max_temp_infection"),
        ({"fever": "yes", "max_temp": 37.6, "symptoms": ["urinary"]}, "infection", "fever_with_urinary"),
        ({"symptoms": ["shingles"]}, "infection", "symptom_shingles"),
        ({"infection_diagnosed": "yes"}, "infection", "infection_diagnosed"),
        ({"antimicrobials": "yes"}, "infection", "antimicrobials"),
        ({"positive_test": "yes"}, "infection", "positive_test"),
        ({"fever": "yes", "max_temp": 37.9}, "review", "fever"),
        ({"fever": "yes", "max_temp": "not_measured"}, "review", "fever"),
        ({"symptoms": ["cough", "mouth"]}, "review", "symptom_cough"),
        ({"infection_diagnosed": "not_sure"}, "review", "infection_diagnosed_not_sure"),
        ({"antimicrobials": "not_sure"}, "review", "antimicrobials_not_sure"),
        ({"positive_test": "not_sure"}, "none", None),
        ({"symptoms": ["other"]}, "none", None),
    ],
)
def test_it_applies_the_rules_of_the_protocol(
    protocol: StudyProtocol, changes: dict[str, Any], level: str, reason: str | None
) -> None:
    decided, reasons = decide(protocol, **changes)
    assert decided == level
    assert (reason in reasons) if reason else reasons == []


def test_it_flags_a_fever_within_a_day_of_a_dose_without_lowering_the_level(protocol: StudyProtocol) -> None:
    fever = {"fever": "yes", "max_temp": 38.6}
    assert decide(protocol, "il2", hours=6, **fever) == (
        "infection",
        ["max_temp_infection", "fever", "possible_il2_reaction"],
    )
    assert "possible_il2_reaction" not in decide(protocol, "il2", hours=30, **fever)[1]
    assert "possible_il2_reaction" not in decide(protocol, "control", hours=6, **fever)[1]
    assert decide(protocol, "il2", il2_reaction=["fever_after_dose"]) == ("none", ["possible_il2_reaction"])


answers = st.fixed_dictionaries(
    {},
    optional={
        "fever": st.sampled_from(["yes", "no"]),
        "max_temp": st.one_of(st.floats(35.0, 42.5), st.just("not_measured")),
        "symptoms": st.lists(st.sampled_from([s for s in SYMPTOMS if s != "none"]), unique=True),
        "infection_diagnosed": st.sampled_from(["yes", "no", "not_sure"]),
        "antimicrobials": st.sampled_from(["yes", "no", "not_sure"]),
        "hospitalized": st.sampled_from(["yes", "no"]),
        "hospital_reason": st.sampled_from(["illness", "planned_treatment", "other"]),
        "in_hospital_now": st.sampled_from(["yes", "no"]),
        "positive_test": st.sampled_from(["yes", "no", "not_sure"]),
        "steroid": st.sampled_from(["prednisone", "methylprednisolone", "other", "none"]),
        "il2_reaction": st.sampled_from([["none"], ["fever_after_dose"], ["flu_like", "injection_site"]]),
    },
)


@given(given_answers=answers, hours=st.one_of(st.none(), st.floats(0, 200)))
def test_it_never_lets_the_il2_reason_change_the_level(
    protocol: StudyProtocol, given_answers: dict[str, Any], hours: float | None
) -> None:
    parsed = Answers.model_validate(given_answers)
    il2 = triage(parsed, group=Group.IL2, rules=protocol.triage, hours_since_il2_dose=hours)
    control = triage(parsed, group=Group.CONTROL, rules=protocol.triage, hours_since_il2_dose=hours)
    assert il2.level == control.level
    assert [reason for reason in il2.reasons if reason != "possible_il2_reaction"] == list(control.reasons)
    assert (control.level is TriageLevel.NONE) == (control.reasons == ())


@given(given_answers=answers, extra=st.sampled_from([s for s in SYMPTOMS if s != "none"]))
def test_it_never_lowers_the_level_when_a_symptom_is_added(
    protocol: StudyProtocol, given_answers: dict[str, Any], extra: str
) -> None:
    before = triage(
        Answers.model_validate(given_answers),
        group=Group.CONTROL,
        rules=protocol.triage,
        hours_since_il2_dose=None,
    )
    more = {**given_answers, "symptoms": sorted({*given_answers.get("symptoms", []), extra})}
    after = triage(Answers.model_validate(more), group=Group.CONTROL, rules=protocol.triage, hours_since_il2_dose=None)
    assert after.level.rank >= before.level.rank


@given(given_answers=answers)
def test_it_never_raises_the_level_for_a_planned_treatment_stay(
    protocol: StudyProtocol, given_answers: dict[str, Any]
) -> None:
    at_home = {**given_answers, "hospitalized": "no"}
    at_home.pop("hospital_reason", None)
    at_home.pop("in_hospital_now", None)
    planned = {**at_home, "hospitalized": "yes", "hospital_reason": "planned_treatment", "in_hospital_now": "yes"}
    home = triage(
        Answers.model_validate(at_home), group=Group.CONTROL, rules=protocol.triage, hours_since_il2_dose=None
    )
    stay = triage(
        Answers.model_validate(planned), group=Group.CONTROL, rules=protocol.triage, hours_since_il2_dose=None
    )
    assert stay == home


@given(given_answers=answers)
def test_it_makes_a_stay_for_an_illness_or_no_reason_urgent(
    protocol: StudyProtocol, given_answers: dict[str, Any]
) -> None:
    for reason in ("illness", "other", None):
        stay = {**given_answers, "hospitalized": "yes", "hospital_reason": reason}
        result = triage(
            Answers.model_validate(stay), group=Group.CONTROL, rules=protocol.triage, hours_since_il2_dose=None
        )
        assert result.level is TriageLevel.URGENT
        assert "hospitalized" in result.reasons


@given(given_answers=answers)
def test_it_makes_fever_with_headache_and_stiff_neck_urgent(
    protocol: StudyProtocol, given_answers: dict[str, Any]
) -> None:
    symptoms = sorted({*given_answers.get("symptoms", []), "headache_stiff_neck"})
    feverish = {**given_answers, "fever": "yes", "symptoms": symptoms}
    result = triage(
        Answers.model_validate(feverish), group=Group.CONTROL, rules=protocol.triage, hours_since_il2_dose=None
    )
    assert result.level is TriageLevel.URGENT


# Vignettes: whole answer sets as a patient gives them.
PLANNED_INFUSION = {  # admitted for a cyclophosphamide infusion, well, on prednisone 10 mg
    **QUIET,
    "hospitalized": "yes",
    "hospital_reason": "planned_treatment",
    "in_hospital_now": "no",
    "steroid": "prednisone",
    "steroid_amount": "2 tablets",
    "prednisone_mg": 10.0,
    "immunosuppressants": ["cyclophosphamide", "hydroxychloroquine"],
}
ON_TMP_SMX = {  # takes TMP-SMX every day against PJP (recorded at enrollment): not "antibiotics for a new illness"
    **QUIET,
    "antimicrobials": "no",
    "steroid": "methylprednisolone",
    "steroid_amount": "3 tablets",
    "prednisone_mg": 15.0,
    "immunosuppressants": ["mycophenolate"],
}
MENINGITIS_SIGNS = {
    **QUIET,
    "fever": "yes",
    "max_temp": "not_measured",
    "fever_days": 2,
    "symptoms": ["headache_stiff_neck"],
}


@pytest.mark.parametrize(
    ("vignette", "level"),
    [(PLANNED_INFUSION, "none"), (ON_TMP_SMX, "none"), (MENINGITIS_SIGNS, "urgent")],
    ids=["a planned infusion stay is not urgent", "TMP-SMX prophylaxis is not an infection", "fever with a stiff neck"],
)
def test_it_decides_the_vignettes(protocol: StudyProtocol, vignette: dict[str, Any], level: str) -> None:
    assert decide(protocol, **vignette)[0] == level


def test_it_triages_the_new_items_from_the_command_line(cli_env: str, tmp_path: Path) -> None:
    lines = [
        {"id": "planned", "group": "control", "answers": PLANNED_INFUSION, "hours_since_il2_dose": None},
        {"id": "neck", "group": "il2", "answers": MENINGITIS_SIGNS, "hours_since_il2_dose": None},
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = CliRunner().invoke(app, ["triage", "in.jsonl"])
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"id": "planned", "level": "none", "reasons": []},
        {"id": "neck", "level": "urgent", "reasons": ["fever_with_headache_stiff_neck", "fever"]},
    ]


@pytest.mark.parametrize(
    ("answers_given", "message"),
    [
        ({"max_temp": 45}, "max_temp"),
        ({"symptoms": ["none", "cough"]}, "'none' cannot be chosen with anything else"),
        ({"symptoms": ["sneezing"]}, "unknown code(s) sneezing"),
        ({"fever": "maybe"}, "fever"),
        ({"temperature": 38}, "temperature"),
    ],
)
def test_it_refuses_answers_outside_the_codes(answers_given: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Answers.model_validate(answers_given)


def test_it_triages_a_jsonl_file_from_the_command_line(cli_env: str, tmp_path: Path) -> None:
    lines = [
        {
            "id": "r1",
            "group": "il2",
            "answers": {"fever": "yes", "max_temp": 39.8},
            "hours_since_il2_dose": 3,
        },
        {
            "id": "r2",
            "group": "control",
            "answers": {"fever": "no", "symptoms": ["none"]},
            "hours_since_il2_dose": None,
        },
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = CliRunner().invoke(app, ["triage", "in.jsonl"])
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"id": "r1", "level": "urgent", "reasons": ["max_temp_urgent", "fever", "possible_il2_reaction"]},
        {"id": "r2", "level": "none", "reasons": []},
    ]


def test_it_names_the_bad_line_and_prints_nothing(cli_env: str, tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text(
        '{"id": "r1", "group": "il2", "answers": {}}\n{"id": "r2", "group": "il2", "answers": {"max_temp": "hot"}}\n'
    )
    result = CliRunner().invoke(app, ["triage", "in.jsonl"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: line 2: answers.max_temp")
