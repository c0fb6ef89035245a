"""The clinician's guided infection record in Telegram. The draft lives on the staff row."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import get_for_update
from bot.i18n import N_
from bot.services.errors import DomainError
from bot.services.escalation import UNRESOLVED, may_acknowledge
from bot.services.infections import details_or_error, record_infection
from models import (
    Escalation,
    Infection,
    InfectionSite,
    InfectionSource,
    Outcome,
    Pathogen,
    Patient,
    Site,
    Staff,
    Treatment,
)

FIELDS = (
    "onset_date",
    "site_type",
    "pathogen",
    "organism",
    "ctcae_grade",
    "treatment",
    "hospitalized",
    "outcome",
)
TYPED = ("onset_date", "organism")
TITLES = {
    "onset_date": N_("Onset"),
    "site_type": N_("Site"),
    "pathogen": N_("Pathogen"),
    "organism": N_("Organism"),
    "ctcae_grade": N_("CTCAE grade"),
    "treatment": N_("Treatment"),
    "hospitalized": N_("Hospitalised"),
    "outcome": N_("Outcome"),
}
PROMPTS = {
    "onset_date": N_("When did the infection start? Tap a day or type the date as YYYY-MM-DD."),
    "site_type": N_("Site of infection?"),
    "pathogen": N_("Type of pathogen?"),
    "organism": N_("Organism found (type it), or tap Skip."),
    "ctcae_grade": N_("CTCAE grade?"),
    "treatment": N_("Treatment?"),
    "hospitalized": N_("Hospitalised?"),
    "outcome": N_("Outcome so far?"),
}
CHOICES: dict[str, dict[str, str]] = {
    "onset_date": {"0": N_("Today"), "1": N_("Yesterday"), "2": N_("2 days ago"), "3": N_("3 days ago")},
    "site_type": {
        InfectionSite.UPPER_RESPIRATORY: N_("Upper respiratory"),
        InfectionSite.PNEUMONIA: N_("Pneumonia"),
        InfectionSite.URINARY: N_("Urinary tract"),
        InfectionSite.SKIN_SOFT_TISSUE: N_("Skin / soft tissue"),
        InfectionSite.HERPES_ZOSTER: N_("Herpes zoster"),
        InfectionSite.GASTROINTESTINAL: N_("Gastrointestinal"),
        InfectionSite.BLOODSTREAM: N_("Bloodstream"),
        InfectionSite.CNS: N_("Central nervous system"),
        InfectionSite.OTHER: N_("Other"),
    },
    "pathogen": {
        Pathogen.BACTERIAL: N_("Bacterial"),
        Pathogen.VIRAL: N_("Viral"),
        Pathogen.FUNGAL: N_("Fungal"),
        Pathogen.PROTOZOAL: N_("Protozoal"),
        Pathogen.UNKNOWN: N_("Unknown"),
    },
    "organism": {"skip": N_("Skip")},
    "ctcae_grade": {str(grade): str(grade) for grade in range(1, 6)},
    "treatment": {
        Treatment.NONE: N_("None"),
        Treatment.ORAL_ANTIMICROBIAL: N_("Oral antimicrobial"),
        Treatment.IV_ANTIMICROBIAL: N_("IV antimicrobial"),
        Treatment.ANTIVIRAL: N_("Antiviral"),
        Treatment.ANTIFUNGAL: N_("Antifungal"),
        Treatment.PROCEDURE: N_("Procedure"),
    },
    "hospitalized": {"yes": N_("Yes"), "no": N_("No")},
    "outcome": {
        Outcome.ONGOING: N_("Ongoing"),
        Outcome.RESOLVED: N_("Resolved"),
        Outcome.RESOLVED_WITH_SEQUELAE: N_("Resolved with sequelae"),
        Outcome.FATAL: N_("Fatal"),
        Outcome.UNKNOWN: N_("Unknown"),
    },
}
SUMMARY = "summary"


def next_field(draft: dict[str, Any]) -> str:
    return next((name for name in FIELDS if name not in draft), SUMMARY)


async def begin(session: AsyncSession, *, staff: Staff, escalation_id: int) -> str | None:
    """Start the record for an escalation this staff member may resolve. Returns the first field."""
    escalation = await session.get(Escalation, escalation_id)
    if escalation is None or escalation.status not in UNRESOLVED or not may_acknowledge(staff, escalation):
        return None
    staff.draft = {"escalation_id": escalation_id}
    staff.awaiting = "infection"
    await session.commit()
    return FIELDS[0]


def _value(field: str, raw: str, today: date) -> Any:
    raw = raw.strip()
    if field == "onset_date":
        if raw in CHOICES["onset_date"]:
            return (today - timedelta(days=int(raw))).isoformat()
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise DomainError(N_("Please type the date as YYYY-MM-DD, for example 2026-11-20.")) from None
    if field == "organism":
        text = " ".join(raw.split())
        if raw == "skip" or not text:
            return None
        if len(text) > 200:
            raise DomainError(N_("Please keep the organism under 200 characters."))
        return text
    if raw not in CHOICES[field]:
        raise DomainError(N_("Please tap one of the buttons."))
    if field == "ctcae_grade":
        return int(raw)
    if field == "hospitalized":
        return raw == "yes"
    return raw


async def answer(session: AsyncSession, *, staff: Staff, field: str, raw: str, now: datetime) -> str:
    """Store the field asked now; returns the next field or "summary". DomainError carries a msgid."""
    draft = dict(staff.draft or {})
    if staff.awaiting != "infection" or next_field(draft) != field:
        raise DomainError(N_("This question was already answered."))
    escalation = await session.get_one(Escalation, draft["escalation_id"])
    site = await session.get_one(Site, escalation.site_id)
    draft[field] = _value(field, raw, now.astimezone(ZoneInfo(site.timezone)).date())
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
    )
    return infection, patient


async def cancel(session: AsyncSession, *, staff: Staff) -> None:
    staff.draft, staff.awaiting = None, None
    await session.commit()
