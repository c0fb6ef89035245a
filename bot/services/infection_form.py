"""The clinician's guided infection record in Telegram (and the console's whole form). The draft lives on the staff
row; its dates, the onset and the date of death, are read and checked in `infection_dates`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import get_for_update
from bot.i18n import N_, Gettext
from bot.infection_fields import INFECTION_FIELD, INFECTION_FIELDS, YES_NO
from bot.services.errors import DomainError
from bot.services.escalation import UNRESOLVED, may_acknowledge
from bot.services.infection_dates import (
    DAYS_BACK,
    DEATH_DATE,
    DEATH_DATE_PROMPT,
    DEATH_DATE_TITLE,
    Refusal,
    death_date_answer,
    onset_answer,
)
from bot.services.infections import GRADE_5_IS_FATAL, details_or_error, record_infection
from models import Escalation, Infection, InfectionSource, Outcome, Patient, Site, Staff, Treatment

FIELDS = (*(spec.name for spec in INFECTION_FIELDS), DEATH_DATE)
TYPED = (*(spec.name for spec in INFECTION_FIELDS if spec.typed), DEATH_DATE)
TITLES = {**{spec.name: spec.title for spec in INFECTION_FIELDS}, DEATH_DATE: DEATH_DATE_TITLE}
PROMPTS = {**{spec.name: spec.prompt for spec in INFECTION_FIELDS}, DEATH_DATE: DEATH_DATE_PROMPT}
DONE = "done"
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


def refusal_text(error: DomainError, _: Gettext) -> str:
    return error.translated(_)


def _value(field: str, raw: str, today: date, baseline: date, onset: str | None = None) -> Any:
    raw = raw.strip()
    if field == "onset_date":
        return onset_answer(raw, today, baseline)
    if field == DEATH_DATE:
        return death_date_answer(raw, today, date.fromisoformat(onset) if onset else baseline)
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
