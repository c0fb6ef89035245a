"""The study protocol as a validated value, loaded from YAML. A broken file is refused naming the field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

import yaml
from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, field_validator, model_validator

from bot.i18n import SOURCE_LANGUAGE
from models import StaffRole

SYMPTOMS = (
    "cough",
    "sore_throat",
    "dyspnea",
    "chest_pain",
    "urinary",
    "diarrhea",
    "skin",
    "shingles",
    "mouth",
    "confusion",
    "chills",
    "headache_stiff_neck",
    "other",
    "none",
)


class ProtocolError(Exception):
    """The protocol file is missing or invalid; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_languages(texts: Mapping[str, object]) -> None:
    """Every key is a language code babel knows, and the source language is among them."""
    for language in texts:
        try:
            Locale.parse(language)
        except (ValueError, UnknownLocaleError):
            raise ValueError(f"{language!r} is not a language code such as zh_CN or en") from None
    if SOURCE_LANGUAGE not in texts:
        raise ValueError(f"give the text in {SOURCE_LANGUAGE} (the source language) at least")


class LocalizedText(RootModel[dict[str, str]]):
    """A text of the protocol in each of its languages (`en: ...`, `zh_CN: ...`). The source language (en) is
    required; a language the bot offers but the protocol lacks falls back to it (`followup doctor` names
    such a language, see `StudyProtocol.untranslated`)."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _source_and_no_blanks(self) -> Self:
        _known_languages(self.root)
        if any(not text.strip() for text in self.root.values()):
            raise ValueError("texts must not be blank")
        return self

    def for_language(self, language: str) -> str:
        return self.root.get(language, self.root[SOURCE_LANGUAGE])


class Study(_Strict):
    id: str = Field(min_length=1)
    title: LocalizedText


class DoseRegimen(_Strict):
    group: Literal["il2"]
    text: LocalizedText
    amount: LocalizedText  # the dose as the reminder names it: "1 million IU" / "100万单位（IU）"
    cycle_days: int = Field(ge=1, le=365)
    dose_days: list[int] = Field(min_length=1)
    cycles: int = Field(ge=1, le=100)
    snooze_minutes: int = Field(ge=1, le=720)
    max_snoozes: int = Field(ge=0, le=10)

    @model_validator(mode="after")
    def _days_inside_cycle(self) -> Self:
        if sorted(set(self.dose_days)) != self.dose_days:
            raise ValueError("dose_days must be increasing and without repeats")
        if self.dose_days[0] < 0 or self.dose_days[-1] >= self.cycle_days:
            raise ValueError("dose_days must lie inside the cycle (0 .. cycle_days-1)")
        return self


class CheckinPlan(_Strict):
    months: int = Field(ge=1, le=120)
    nudge_days: list[int]
    missed_after_days: int = Field(ge=1, le=28)
    default_reminder_time: time

    @model_validator(mode="after")
    def _nudges_before_missed(self) -> Self:
        if any(day < 1 or day >= self.missed_after_days for day in self.nudge_days):
            raise ValueError("nudge_days must fall between day 1 and missed_after_days")
        return self


class Triage(_Strict):
    urgent_temperature_c: float = Field(ge=35, le=42.5)
    infection_temperature_c: float = Field(ge=35, le=42.5)
    fever_threshold_c: float = Field(ge=35, le=42.5)
    urgent_symptoms: list[str]
    urgent_symptoms_with_fever: list[str]  # urgent with fever = yes or max_temp >= infection_temperature_c
    infection_symptoms_with_fever: list[str]
    infection_symptoms: list[str]
    review_symptoms: list[str]
    il2_reaction_window_hours: float = Field(ge=0, le=168)

    @field_validator(
        "urgent_symptoms",
        "urgent_symptoms_with_fever",
        "infection_symptoms_with_fever",
        "infection_symptoms",
        "review_symptoms",
    )
    @classmethod
    def _known_symptoms(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SYMPTOMS))
        if unknown:
            raise ValueError(f"unknown symptom code(s): {', '.join(unknown)}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.fever_threshold_c <= self.infection_temperature_c <= self.urgent_temperature_c:
            raise ValueError("temperatures must be fever <= infection <= urgent")
        return self


class EscalationStep(_Strict):
    after_minutes: int = Field(ge=0)
    roles: list[StaffRole] = Field(min_length=1)


class EscalationChain(_Strict):
    steps: list[EscalationStep] = Field(min_length=1)
    repeat_every_minutes: int | None = Field(default=None, ge=1)
    max_repeats: int = Field(default=0, ge=0, le=100)

    @model_validator(mode="after")
    def _steps_in_order(self) -> Self:
        minutes = [step.after_minutes for step in self.steps]
        if minutes[0] != 0 or minutes != sorted(set(minutes)):
            raise ValueError("steps must start at after_minutes 0 and increase")
        if self.max_repeats and self.repeat_every_minutes is None:
            raise ValueError("max_repeats needs repeat_every_minutes")
        return self


class Escalation(_Strict):
    urgent: EscalationChain
    infection: EscalationChain
    digest_time: time


class FollowUpEnd(_Strict):
    first_confirmed_infection: bool
    withdrawal: bool
    after_months: int = Field(ge=1, le=120)


class RedFlags(RootModel[dict[str, list[str]]]):
    """Words in a patient's own message that mean danger, by language (the source language required), all
    matched case-insensitively whatever the patient's language."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _no_blank_terms(self) -> Self:
        _known_languages(self.root)
        if any(not terms or any(not term.strip() for term in terms) for terms in self.root.values()):
            raise ValueError("each language needs terms, and terms must not be blank")
        return self

    def terms(self) -> list[str]:
        """Every term, in the protocol's order of languages."""
        return [term for terms in self.root.values() for term in terms]


class Safety(_Strict):
    """What protects a patient whatever path their report took."""

    emergency_number: str = Field(min_length=2, max_length=20)  # named in every emergency advice
    unfinished_after_minutes: int = Field(ge=10, le=24 * 60)  # an abandoned questionnaire with red flags is sent
    reminder_time_default_after_minutes: int = Field(ge=1, le=24 * 60)  # onboarding: default time applied
    pause_doses_during_alert: bool  # no dose reminders while an urgent or infection alert is open
    red_flags: RedFlags


class Enrollment(_Strict):
    invite_valid_days: int = Field(ge=1, le=365)
    staff_invite_valid_days: int = Field(ge=1, le=90)
    consent_version: str = Field(default="1.0", min_length=1, max_length=16)  # stored with each consent


class StudyProtocol(_Strict):
    study: Study
    groups: list[Literal["il2", "control"]]
    dose_regimen: DoseRegimen
    checkin_plan: CheckinPlan
    triage: Triage
    escalation: Escalation
    follow_up_end: FollowUpEnd
    enrollment: Enrollment
    safety: Safety

    @model_validator(mode="after")
    def _plan_covers_follow_up(self) -> Self:
        if self.checkin_plan.months != self.follow_up_end.after_months:
            raise ValueError("checkin_plan.months must equal follow_up_end.after_months")
        return self

    def untranslated(self, languages: Sequence[str]) -> dict[str, list[str]]:
        """For each of `languages` the protocol texts lack, where (they are shown in the source language);
        the red-flag words of every language are checked whatever a patient's language, so they are not listed."""
        texts = {
            "study.title": self.study.title,
            "dose_regimen.text": self.dose_regimen.text,
            "dose_regimen.amount": self.dose_regimen.amount,
        }
        missing = {
            language: [field for field, text in texts.items() if language not in text.root] for language in languages
        }
        return {language: fields for language, fields in missing.items() if fields}


def _field_path(location: tuple[int | str, ...]) -> str:
    return ".".join(f"[{part}]" if isinstance(part, int) else part for part in location).replace(".[", "[")


def load_protocol(path: Path) -> StudyProtocol:
    """Read and validate a protocol file; the first problem is reported as `file: field: message`."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ProtocolError(f"{path}: cannot read: {error.strerror}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "syntax error"
        raise ProtocolError(f"{path}:{where}: not valid YAML ({problem})") from None
    if not isinstance(raw, dict):
        raise ProtocolError(f"{path}: expected a mapping at the top level")
    try:
        return StudyProtocol.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = _field_path(first["loc"]) or "(top level)"
        raise ProtocolError(f"{path}: {field}: {first['msg']}") from None


@lru_cache(maxsize=4)
def cached_protocol(path: Path) -> StudyProtocol:
    return load_protocol(path)
