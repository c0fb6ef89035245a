"""Triage of a patient's answers: a pure function of the answers and the protocol's thresholds. The answers are
checked against the form's definitions (bot/forms.py: options and ranges), here and in `followup triage`.

Levels, most severe first: urgent > infection > review > none. Every decision carries the machine-readable
reasons that fired, most severe first. `possible_il2_reaction` is added for IL-2 patients with a fever soon
after a dose or a reported fever after a dose; it never lowers the level.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.forms import (
    FEVER_DAYS,
    HOSPITAL_REASON,
    IL2_REACTION,
    IMMUNOSUPPRESSANTS,
    MAX_TEMP,
    ORGANISM,
    PREDNISONE_MG,
    STEROID,
    SYMPTOMS_ITEM,
)
from bot.protocol import Triage
from bot.services.errors import DomainError
from models import Group, TriageLevel

YesNo = Literal["yes", "no"]
YesNoNotSure = Literal["yes", "no", "not_sure"]


def _one_of(value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise ValueError(f"Input should be {', '.join(repr(code) for code in allowed)}")
    return value


def _exclusive_none(values: list[str], allowed: tuple[str, ...]) -> list[str]:
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValueError(f"unknown code(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    if "none" in values and len(values) > 1:
        raise ValueError("'none' cannot be chosen with anything else")
    if len(set(values)) != len(values):
        raise ValueError("a code is repeated")
    return values


class Answers(BaseModel):
    """Answers by item id and option code (DESIGN.md). Items a form did not ask are absent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fever: YesNo | None = None
    max_temp: float | Literal["not_measured"] | None = Field(default=None)
    fever_days: int | None = Field(default=None, ge=FEVER_DAYS.minimum, le=FEVER_DAYS.maximum)
    symptoms: list[str] | None = None
    doctor_visit: YesNo | None = None
    infection_diagnosed: YesNoNotSure | None = None
    antimicrobials: YesNoNotSure | None = None
    hospitalized: YesNo | None = None
    hospital_reason: str | None = None
    in_hospital_now: YesNo | None = None
    positive_test: YesNoNotSure | None = None
    organism: str | None = Field(default=None, max_length=int(ORGANISM.maximum))
    steroid: str | None = None
    steroid_amount: str | None = Field(default=None, max_length=40)
    prednisone_mg: float | None = Field(default=None, ge=PREDNISONE_MG.minimum, le=PREDNISONE_MG.maximum)
    immunosuppressants: list[str] | None = None
    il2_reaction: list[str] | None = None

    @field_validator("max_temp")
    @classmethod
    def _celsius_range(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, float) and not MAX_TEMP.minimum <= value <= MAX_TEMP.maximum:
            raise ValueError(f"must be between {MAX_TEMP.minimum:.1f} and {MAX_TEMP.maximum:.1f} °C")
        return value

    @field_validator("hospital_reason")
    @classmethod
    def _hospital_reason(cls, value: str | None) -> str | None:
        return _one_of(value, HOSPITAL_REASON.options)

    @field_validator("steroid")
    @classmethod
    def _steroid(cls, value: str | None) -> str | None:
        return _one_of(value, STEROID.options)

    @field_validator("symptoms")
    @classmethod
    def _symptoms(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _exclusive_none(value, SYMPTOMS_ITEM.options)

    @field_validator("immunosuppressants")
    @classmethod
    def _drugs(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _exclusive_none(value, IMMUNOSUPPRESSANTS.options)

    @field_validator("il2_reaction")
    @classmethod
    def _reactions(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _exclusive_none(value, IL2_REACTION.options)


@dataclass(frozen=True)
class TriageResult:
    level: TriageLevel
    reasons: tuple[str, ...]


def triage(
    answers: Answers,
    *,
    group: Group,
    rules: Triage,
    hours_since_il2_dose: float | None,
    il2_dose_in_recall: bool = False,
) -> TriageResult:
    """Decide the level of one set of answers. Pure: same answers and rules, same result.

    `il2_dose_in_recall`: the dose log has a confirmed dose in the period the answers cover (a fever reported
    for that period may have followed it); `hours_since_il2_dose` is for a fever known to be now."""
    symptoms = set(answers.symptoms or ())
    fever = answers.fever == "yes"
    temperature = answers.max_temp if isinstance(answers.max_temp, float) else None
    fired: dict[TriageLevel, list[str]] = {level: [] for level in TriageLevel}

    def fire(level: TriageLevel, reason: str, when: bool) -> None:
        if when:
            fired[level].append(reason)

    fire(
        TriageLevel.URGENT,
        "max_temp_urgent",
        temperature is not None and temperature >= rules.urgent_temperature_c,
    )
    for symptom in rules.urgent_symptoms:
        fire(TriageLevel.URGENT, f"symptom_{symptom}", symptom in symptoms)
    high_enough = temperature is not None and temperature >= rules.infection_temperature_c
    for symptom in rules.urgent_symptoms_with_fever:
        fire(TriageLevel.URGENT, f"fever_with_{symptom}", (fever or high_enough) and symptom in symptoms)
    # a planned treatment stay (an infusion, a biopsy) is no alarm by itself; a missing reason counts as an illness
    fire(
        TriageLevel.URGENT,
        "hospitalized",
        answers.hospitalized == "yes" and answers.hospital_reason != "planned_treatment",
    )

    fire(
        TriageLevel.INFECTION,
        "max_temp_infection",
        temperature is not None and rules.infection_temperature_c <= temperature < rules.urgent_temperature_c,
    )
    for symptom in rules.infection_symptoms_with_fever:
        fire(TriageLevel.INFECTION, f"fever_with_{symptom}", fever and symptom in symptoms)
    for symptom in rules.infection_symptoms:
        fire(TriageLevel.INFECTION, f"symptom_{symptom}", symptom in symptoms)
    for item in ("infection_diagnosed", "antimicrobials", "positive_test"):
        fire(TriageLevel.INFECTION, item, getattr(answers, item) == "yes")

    fire(TriageLevel.REVIEW, "fever", fever)
    for symptom in rules.review_symptoms:
        explained = symptom in rules.urgent_symptoms_with_fever and (fever or high_enough)
        fire(TriageLevel.REVIEW, f"symptom_{symptom}", not fever and not explained and symptom in symptoms)
    for item in ("infection_diagnosed", "antimicrobials"):
        fire(TriageLevel.REVIEW, f"{item}_not_sure", getattr(answers, item) == "not_sure")

    level = next((level for level in reversed(TriageLevel) if fired[level]), TriageLevel.NONE)
    reasons = [reason for level_ in reversed(TriageLevel) for reason in fired[level_]]
    if group is Group.IL2 and (
        _possible_il2_reaction(answers, fever, rules, hours_since_il2_dose) or (fever and il2_dose_in_recall)
    ):
        reasons.append("possible_il2_reaction")
    return TriageResult(level=level, reasons=tuple(reasons))


def _possible_il2_reaction(answers: Answers, fever: bool, rules: Triage, hours_since_il2_dose: float | None) -> bool:
    soon_after_dose = hours_since_il2_dose is not None and 0 <= hours_since_il2_dose <= rules.il2_reaction_window_hours
    return (fever and soon_after_dose) or "fever_after_dose" in (answers.il2_reaction or ())


class TriageRequest(BaseModel):
    """One line of `followup triage` input."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    group: Group
    answers: Answers
    hours_since_il2_dose: float | None = Field(default=None, ge=0)


def triage_lines(lines: Iterable[str], *, rules: Triage) -> list[dict[str, object]]:
    """Triage JSON lines; the first bad line stops everything and is named with its field."""
    requests: list[TriageRequest] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            requests.append(TriageRequest.model_validate(json.loads(line)))
        except json.JSONDecodeError as error:
            raise DomainError(f"line {number}: not valid JSON ({error.msg})") from None
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "line"
            raise DomainError(f"line {number}: {field}: {first['msg'].removeprefix('Value error, ')}") from None
    results: list[dict[str, object]] = []
    for request in requests:
        result = triage(
            request.answers,
            group=request.group,
            rules=rules,
            hours_since_il2_dose=request.hours_since_il2_dose,
        )
        results.append({"id": request.id, "level": result.level.value, "reasons": list(result.reasons)})
    return results
