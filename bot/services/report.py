"""The group comparison's data: one analysis row per patient, and the infections, up to a cut-off date.

Person-time runs from the baseline to the earliest of the first confirmed infection's onset, withdrawal,
month 24, or the cut-off. Patients who declined consent never started follow-up and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.plan import monthly_anniversary
from bot.protocol import StudyProtocol
from models import ContactKind, ContactStatus, Infection, Patient, PatientStatus, ScheduledContact, Site

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class StudyData:
    patients: pd.DataFrame  # study_id, site, group, baseline, end, days, person_years, event
    infections: pd.DataFrame  # study_id, group, onset_date, site_type, pathogen, organism, ctcae_grade, treatment
    adherence: pd.DataFrame  # group, doses_due, doses_confirmed, checkins_due, checkins_completed
    cutoff: date


async def load_study(session: AsyncSession, *, protocol: StudyProtocol, cutoff: date) -> StudyData:
    first_onset = (
        select(Infection.patient_id, func.min(Infection.onset_date).label("onset"))
        .where(Infection.onset_date <= cutoff, Infection.voided_at.is_(None))
        .group_by(Infection.patient_id)
        .subquery()
    )
    rows = await session.execute(
        select(Patient, Site.code, first_onset.c.onset)
        .join(Site, Patient.site_id == Site.id)
        .outerjoin(first_onset, first_onset.c.patient_id == Patient.id)
        .where(Patient.status != PatientStatus.DECLINED, Patient.baseline_date <= cutoff)
        .order_by(Patient.study_id)
    )
    records: list[dict[str, Any]] = []
    for patient, site, onset in rows:
        ends = [monthly_anniversary(patient.baseline_date, protocol.follow_up_end.after_months), cutoff]
        if onset is not None:
            ends.append(onset)
        if patient.status is PatientStatus.WITHDRAWN and patient.ended_at is not None:
            ends.append(patient.ended_at.astimezone(ZoneInfo(patient.timezone)).date())
        if patient.died_on is not None:
            ends.append(patient.died_on)
        end = max(min(ends), patient.baseline_date)
        days = (end - patient.baseline_date).days
        records.append(
            {
                "study_id": patient.study_id,
                "site": site,
                "group": patient.group.value,
                "baseline": patient.baseline_date,
                "end": end,
                "days": days,
                "person_years": days / DAYS_PER_YEAR,
                "event": int(onset is not None and onset == end),
            }
        )
    infections = await session.execute(
        select(
            Patient.study_id,
            Patient.group,
            Infection.onset_date,
            Infection.site_type,
            Infection.pathogen,
            Infection.organism,
            Infection.ctcae_grade,
            Infection.treatment,
        )
        .join(Patient, Infection.patient_id == Patient.id)
        .where(Infection.onset_date <= cutoff, Infection.voided_at.is_(None), Patient.status != PatientStatus.DECLINED)
    )
    infection_rows = [
        {
            "study_id": study_id,
            "group": group.value,
            "onset_date": onset,
            "site_type": site_type.value,
            "pathogen": pathogen.value,
            "organism": organism or "not identified",
            "ctcae_grade": grade,
            "treatment": treatment.value,
        }
        for study_id, group, onset, site_type, pathogen, organism, grade, treatment in infections
    ]
    return StudyData(
        patients=pd.DataFrame.from_records(
            records, columns=["study_id", "site", "group", "baseline", "end", "days", "person_years", "event"]
        ),
        infections=pd.DataFrame.from_records(
            infection_rows,
            columns=[
                "study_id",
                "group",
                "onset_date",
                "site_type",
                "pathogen",
                "organism",
                "ctcae_grade",
                "treatment",
            ],
        ),
        adherence=await _adherence(session, cutoff=cutoff),
        cutoff=cutoff,
    )


async def _adherence(session: AsyncSession, *, cutoff: date) -> pd.DataFrame:
    """Doses whose day has passed and check-ins whose window has closed, by group: how many were answered."""
    closed = (ScheduledContact.planned_date < cutoff) & (ScheduledContact.status != ContactStatus.CANCELLED)
    rows = await session.execute(
        select(Patient.group, ScheduledContact.kind, ScheduledContact.status, func.count())
        .join(Patient, ScheduledContact.patient_id == Patient.id)
        .where(closed, Patient.status != PatientStatus.DECLINED)
        .group_by(Patient.group, ScheduledContact.kind, ScheduledContact.status)
    )
    table: dict[str, dict[str, int]] = {}
    for group, kind, status, count in rows:
        entry = table.setdefault(
            group.value, {"doses_due": 0, "doses_confirmed": 0, "checkins_due": 0, "checkins_completed": 0}
        )
        if kind is ContactKind.DOSE:
            entry["doses_due"] += count
            entry["doses_confirmed"] += count if status is ContactStatus.TAKEN else 0
        else:
            entry["checkins_due"] += count
            entry["checkins_completed"] += count if status is ContactStatus.DONE else 0
    return pd.DataFrame(
        [{"group": group, **counts} for group, counts in sorted(table.items())],
        columns=["group", "doses_due", "doses_confirmed", "checkins_due", "checkins_completed"],
    )
