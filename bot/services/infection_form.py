"""The clinician's guided infection record in Telegram. The draft lives on the staff row."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import get_for_update
from bot.i18n import N_, Gettext
from bot.infection_fields import INFECTION_FIELD, INFECTION_FIELDS, YES_NO
from bot.services.errors import DomainError
from bot.services.escalation import UNRESOLVED, may_acknowledge
from bot.services.infections import GRADE_5_IS_FATAL, details_or_error, record_infection
from models import Escalation, Infection, InfectionSource, Outcome, Patient, Site, Staff, Treatment

DEATH_DATE = "died_on"  # the patient's, asked only for a fatal infection (grade 5, outcome fatal)
FIELDS = (*(spec.name for spec in INFECTION_FIELDS), DEATH_DATE)
TYPED = (*(spec.name for spec in INFECTION_FIELDS if spec.typed), DEATH_DATE)
TITLES = {**{spec.name: spec.title for spec in INFECTION_FIELDS}, DEATH_DATE: N_("Date of death")}
PROMPTS = {
    **{spec.name: spec.prompt for spec in INFECTION_FIELDS},
    DEATH_DATE: N_("Date of death? Tap a day, or type the date (2026-03-01, 2026/3/1 or 3月1日)."),
}
DONE = "done"
DAYS_BACK = {  # quick picks reaching back 30 days
    "0": N_("Today"),
    "1": N_("Yesterday"),
    "2": N_("2 days ago"),
    "3": N_("3 days ago"),
    "5": N_("5 days ago"),
    "7": N_("1 week ago"),
    "14": N_("2 weeks ago"),
    "21": N_("3 weeks ago"),
    "30": N_("30 days ago"),
}
QUICK_CHOICES: dict[str, dict[str, str]] = {  # the guided form's taps besides the codes
    "onset_date": DAYS_BACK,
    "organism": {"skip": N_("Skip")},
    "treatments": {DONE: N_("Done")},
}
CHOICES: dict[str, dict[str, str]] = {
    **{
        spec.name: {**(YES_NO if spec.value_type == "boolean" else spec.codes), **QUICK_CHOICES.get(spec.name, {})}
        for spec in INFECTION_FIELDS
    },
    DEATH_DATE: DAYS_BACK,
}
SUMMARY = "summary"
PICKED = "picked_treatments"  # the treatments tapped so far (multi-select), until Done


def is_fatal(draft: dict[str, Any]) -> bool:
    return draft.get("ctcae_grade") == 5 and draft.get("outcome") == Outcome.FATAL


def fields_for(draft: dict[str, Any]) -> tuple[str, ...]:
    """The fields this record asks: the date of death only for a fatal one (grade 5, outcome fatal)."""
    return tuple(name for name in FIELDS if name != DEATH_DATE or is_fatal(draft))


def next_field(draft: dict[str, Any]) -> str:
    return next((name for name in fields_for(draft) if name not in draft), SUMMARY)


async def begin(session: AsyncSession, *, staff: Staff, escalation_id: int) -> str | None:
    """Start the record for an escalation this staff member may resolve. Returns the first field."""
    escalation = await session.get(Escalation, escalation_id)
    if escalation is None or escalation.status not in UNRESOLVED or not may_acknowledge(staff, escalation):
        return None
    staff.draft = {"escalation_id": escalation_id}
    staff.awaiting = "infection"
    await session.commit()
    return FIELDS[0]


class Refusal(DomainError):
    """An entry the guided form refuses (the staff member is asked again)."""


def refusal_text(error: DomainError, _: Gettext) -> str:
    return error.translated(_)


TYPED_DATE = re.compile(r"^(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def typed_onset(raw: str, today: date) -> date:
    """2026-03-01, 2026/3/1, 2026年3月1日, or 3月1日 (the latest such day that is not in the future)."""
    found = TYPED_DATE.match(unicodedata.normalize("NFKC", raw).strip())
    if found is None:
        raise Refusal(TYPE_THE_DATE)
    year, month, day = found.groups()
    try:
        onset = date(int(year) if year else today.year, int(month), int(day))
        if year is None and onset > today:
            onset = onset.replace(year=today.year - 1)
    except ValueError:
        raise Refusal(TYPE_THE_DATE) from None
    return onset


TYPE_THE_DATE = N_("Please type the date as 2026-03-01, 2026/3/1 or 3月1日.")


def _onset(raw: str, today: date, baseline: date) -> str:
    onset = today - timedelta(days=int(raw)) if raw in CHOICES["onset_date"] else typed_onset(raw, today)
    if onset > today:
        raise Refusal(N_("The onset cannot be in the future."))
    if onset < baseline:
        raise Refusal(
            N_("The onset cannot be before the patient's baseline ({baseline}): please check the date."),
            baseline=baseline.isoformat(),
        )
    return onset.isoformat()


def _death_date(raw: str, today: date, onset: date) -> str:
    died_on = today - timedelta(days=int(raw)) if raw in DAYS_BACK else typed_onset(raw, today)
    if died_on > today:
        raise Refusal(N_("The date of death cannot be in the future."))
    if died_on < onset:
        raise Refusal(N_("The date of death cannot be before the onset ({onset})."), onset=onset.isoformat())
    return died_on.isoformat()


def _value(field: str, raw: str, today: date, baseline: date, onset: str | None = None) -> Any:
    raw = raw.strip()
    if field == "onset_date":
        return _onset(raw, today, baseline)
    if field == DEATH_DATE:
        return _death_date(raw, today, date.fromisoformat(onset) if onset else baseline)
    spec = INFECTION_FIELD[field]
    if spec.typed:
        text = " ".join(raw.split())
        if raw == "skip" or not text:
            return None
        if spec.max_length is not None and len(text) > spec.max_length:
            raise Refusal(N_("Please keep the organism under {maximum} characters."), maximum=spec.max_length)
        return text
    if raw not in CHOICES[field]:
        raise DomainError(N_("Please tap one of the buttons."))
    if spec.value_type == "integer":
        return int(raw)
    if spec.value_type == "boolean":
        return raw == "yes"
    return raw


def _toggled(picked: list[str], code: str) -> list[str]:
    """Tap a treatment on or off; "none" and the treatments exclude each other."""
    if code not in CHOICES["treatments"]:
        raise DomainError(N_("Please tap one of the buttons."))
    if code in picked:
        return [item for item in picked if item != code]
    if code == Treatment.NONE:
        return [code]
    return [item for item in picked if item != Treatment.NONE] + [code]


def _check_grade_and_outcome(draft: dict[str, Any], field: str) -> None:
    """Grade 5 and the outcome "fatal" go together: checked when the outcome is given (the grade comes first),
    and again at Save (a grade changed from the summary)."""
    if field == "outcome" and (draft.get("ctcae_grade") == 5) != (draft["outcome"] == "fatal"):
        raise DomainError(GRADE_5_IS_FATAL)


IMPLAUSIBLE_NO_TREATMENT = N_(
    "⚠ CTCAE grade {grade} means treatment was needed, but the treatment is “None”. Please check before saving."
)
IMPLAUSIBLE_ORAL_ONLY = N_(
    "⚠ CTCAE grade 3 means IV treatment or a hospital stay, but the treatment is oral and there was no hospital "
    "stay. Please check before saving."
)


def plausibility_warnings(draft: dict[str, Any]) -> list[tuple[str, dict[str, object]]]:
    """Grade and treatment that do not fit the CTCAE v5 meaning of the grade: msgids and their values, shown on
    the summary so the clinician confirms (or fixes) before Save."""
    grade, treatments = draft.get("ctcae_grade"), draft.get("treatments")
    if grade is None or treatments is None:
        return []
    if grade >= 2 and treatments == [Treatment.NONE]:
        return [(IMPLAUSIBLE_NO_TREATMENT, {"grade": grade})]
    if grade == 3 and treatments == [Treatment.ORAL_ANTIMICROBIAL] and not draft.get("hospitalized"):
        return [(IMPLAUSIBLE_ORAL_ONLY, {})]
    return []


async def reopen(session: AsyncSession, *, staff: Staff, field: str) -> str:
    """From the summary, ask one field again (the others are kept); returns it."""
    draft = dict(staff.draft or {})
    if staff.awaiting != "infection" or next_field(draft) != SUMMARY or field not in fields_for(draft):
        raise DomainError(N_("This question was already answered."))
    if field == "treatments":
        draft[PICKED] = draft[field]
    del draft[field]
    staff.draft = draft
    await session.commit()
    return field


async def answer(session: AsyncSession, *, staff: Staff, field: str, raw: str, now: datetime) -> str:
    """Store the field asked now; returns the next field or "summary". DomainError carries a msgid."""
    draft = dict(staff.draft or {})
    if staff.awaiting != "infection" or next_field(draft) != field:
        raise DomainError(N_("This question was already answered."))
    escalation = await session.get_one(Escalation, draft["escalation_id"])
    site = await session.get_one(Site, escalation.site_id)
    patient = await session.get_one(Patient, escalation.patient_id)
    if field == "treatments" and raw != DONE:
        draft[PICKED] = _toggled(list(draft.get(PICKED, [])), raw)
        staff.draft = draft
        await session.commit()
        return field
    if field == "treatments":
        if not draft.get(PICKED):
            raise DomainError(N_("Tap at least one treatment (or None), then Done."))
        draft[field] = draft.pop(PICKED)
    else:
        today = now.astimezone(ZoneInfo(site.timezone)).date()
        draft[field] = _value(field, raw, today, patient.baseline_date, draft.get("onset_date"))
    if not is_fatal(draft) or field == "onset_date":
        draft.pop(DEATH_DATE, None)  # asked (again) only for a fatal infection, and checked against the onset
    _check_grade_and_outcome(draft, field)
    staff.draft = draft
    await session.commit()
    return next_field(draft)


async def save(session: AsyncSession, *, staff: Staff, now: datetime) -> tuple[Infection, Patient]:
    """Record the infection from the finished draft (ends follow-up if it is the patient's first)."""
    draft = dict(staff.draft or {})
    if staff.awaiting != "infection" or next_field(draft) != SUMMARY:
        raise DomainError(N_("This question was already answered."))
    escalation = await get_for_update(session, Escalation, draft.pop("escalation_id"))
    if escalation is None or escalation.status not in UNRESOLVED or not may_acknowledge(staff, escalation):
        raise DomainError(N_("This alert has already been resolved."))
    patient = await session.get_one(Patient, escalation.patient_id)
    died_on = draft.pop(DEATH_DATE, None)
    details = details_or_error(**draft)
    staff.draft, staff.awaiting = None, None
    infection = await record_infection(
        session,
        patient=patient,
        details=details,
        source=InfectionSource.BOT,
        actor=f"staff:{staff.id}",
        now=now,
        escalation=escalation,
        died_on=date.fromisoformat(died_on) if died_on else None,
    )
    return infection, patient


async def cancel(session: AsyncSession, *, staff: Staff) -> None:
    staff.draft, staff.awaiting = None, None
    await session.commit()


def checked_record(values: dict[str, Any], *, today: date, baseline: date) -> dict[str, Any]:
    """A whole record entered at once (the console's form), each field checked as in the guided form above;
    `treatments` is the list of codes ticked. DomainError carries a msgid."""
    draft = {
        field: _value(field, str(values.get(field) or ""), today, baseline)
        for field in FIELDS
        if field not in ("treatments", DEATH_DATE)
    }

    codes = [str(code) for code in values.get("treatments") or []]
    if len(set(codes)) != len(codes) or any(code not in CHOICES["treatments"] or code == DONE for code in codes):
        raise DomainError(N_("Please tap one of the buttons."))
    if not codes:
        raise DomainError(N_("Choose at least one treatment, or None."))
    if Treatment.NONE in codes and len(codes) > 1:
        raise DomainError(N_("“None” cannot go with other treatments."))
    draft["treatments"] = codes
    _check_grade_and_outcome(draft, "outcome")
    if is_fatal(draft):
        if not str(values.get(DEATH_DATE) or "").strip():
            raise Refusal(N_("Please give the date of death (grade 5)."))
        draft[DEATH_DATE] = _value(DEATH_DATE, str(values[DEATH_DATE]), today, baseline, draft["onset_date"])
    return draft


async def confirm(
    session: AsyncSession, *, staff: Staff, escalation_id: int, values: dict[str, Any], now: datetime
) -> tuple[Infection, Patient]:
    """Record the infection of an escalation from a whole form (the console), with the checks of the guided
    form and the same effects as its Save."""
    escalation = await get_for_update(session, Escalation, escalation_id)
    if escalation is None or escalation.status not in UNRESOLVED or not may_acknowledge(staff, escalation):
        raise DomainError(N_("This alert has already been resolved."))
    site = await session.get_one(Site, escalation.site_id)
    patient = await session.get_one(Patient, escalation.patient_id)
    today = now.astimezone(ZoneInfo(site.timezone)).date()
    draft = checked_record(values, today=today, baseline=patient.baseline_date)
    died_on = draft.pop(DEATH_DATE, None)
    infection = await record_infection(
        session,
        patient=patient,
        details=details_or_error(**draft),
        source=InfectionSource.BOT,
        actor=f"staff:{staff.id}",
        now=now,
        escalation=escalation,
        died_on=date.fromisoformat(died_on) if died_on else None,
    )
    return infection, patient
