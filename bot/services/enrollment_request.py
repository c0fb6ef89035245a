"""One patient to enroll, as typed in the console's form, on the command line or in a CSV row, and why it is
refused: each field's problem is a msgid (bot.services.form_errors), English on the command line, translated on a
page."""

from __future__ import annotations

from datetime import date, time

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from bot.i18n import DEFAULT_LANGUAGE, N_, languages
from bot.plan import parse_clock_time
from bot.services.errors import DomainError, InvalidValue
from bot.services.form_errors import form_problem
from bot.services.preventive import parse_preventive
from models import Group

STUDY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
STUDY_ID_RULE = N_("{field}: use 1-32 letters, digits, '-' or '_'")
NOT_A_DATE = N_("{field}: {value!r} is not a real date in the form YYYY-MM-DD")
NOT_A_CLOCK_TIME = N_("{field}: use HH:MM, for example 09:00")
NOT_A_LANGUAGE = N_("{field}: use one of {languages}")
ONLY_FOR_IL2 = N_("{field}: only for the il2 group")


class EnrollmentRequest(BaseModel):
    """One patient to enroll, as typed on the command line or read from a CSV row."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    study_id: str = Field(pattern=STUDY_ID_PATTERN)
    site: str = Field(min_length=1, max_length=32)
    group: Group
    enrolled_on: date | None = None
    il2_start: date | None = None
    language: str = DEFAULT_LANGUAGE  # one of bot.i18n.languages()
    reminder_time: time | None = None
    preventive: list[str] = Field(default_factory=list)  # regular preventive medicines (bot.services.preventive)

    @field_validator("preventive", mode="before")
    @classmethod
    def _medicines(cls, value: object) -> object:
        return parse_preventive(value) if isinstance(value, str | list | None) else value

    @field_validator("language")
    @classmethod
    def _catalog_language(cls, value: str, info: ValidationInfo) -> str:
        if value not in languages():
            raise InvalidValue(NOT_A_LANGUAGE, field=info.field_name, languages=", ".join(languages()))
        return value

    @field_validator("enrolled_on", "il2_start", "reminder_time", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("reminder_time", mode="before")
    @classmethod
    def _hh_mm(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            parsed = parse_clock_time(value)
            if parsed is None:
                raise InvalidValue(NOT_A_CLOCK_TIME, field=info.field_name)
            return parsed
        return value

    @field_validator("enrolled_on", "il2_start", mode="before")
    @classmethod
    def _iso_date(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise InvalidValue(NOT_A_DATE, field=info.field_name, value=value) from None
        return value

    @field_validator("il2_start")
    @classmethod
    def _only_for_il2(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is not None and info.data.get("group") is Group.CONTROL:
            raise InvalidValue(ONLY_FOR_IL2, field=info.field_name)
        return value


def request_problem(error: ValidationError) -> DomainError:
    """Why an EnrollmentRequest was refused: in English for the command line, translated on a page."""
    return form_problem(error, pattern_rules={"study_id": STUDY_ID_RULE})
