"""The group comparison's data: one analysis row per patient, and the infections, up to a cut-off date.

Person-time runs from the baseline to the earliest of the first confirmed infection's onset (the earliest onset,
whatever the order of entry; void records not counted), withdrawal of consent, death, month 24 or the cut-off; a
patient lost to follow-up or unreachable is censored at the last contact. Patients who never linked Telegram or
declined consent never started follow-up: they are counted in the flow table and left out of the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import N_
from bot.infection_fields import INFECTION_FIELDS, InfectionField
from bot.plan import monthly_anniversary
from bot.protocol import StudyProtocol
from bot.services.report_quality import data_quality, end_of, open_at_cutoff, provenance, site_scope
from bot.services.report_status import FLOW_STAGES, StatusAtCutoff, flow_stages, statuses_at_cutoff
from models import (
    Answer,
    ContactKind,
    ContactStatus,
    FormKind,
    Group,
    Infection,
    InfectionSource,
    Patient,
    PatientStatus,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    Site,
)

DAYS_PER_YEAR = 365.25
ORGANISM_NOT_IDENTIFIED = "not identified"  # the infections table's organism when none was recorded


@dataclass(frozen=True)
class StudyData:
    patients: pd.DataFrame  # study_id, site, group, baseline, end, days, person_years, event, end_reason, ...
    infections: pd.DataFrame  # study_id, group, the infection fields (bot/infection_fields.py, by their export
    # names): every confirmed (not void) infection of a consented patient up to the cut-off
    adherence: pd.DataFrame  # group, doses_due, doses_confirmed, checkins_due, checkins_completed
    cutoff: date
    flow: pd.DataFrame  # stage (FLOW_STAGES), il2, control: every enrolled patient, analysed or not
    quality: pd.DataFrame  # report_quality.QUALITY_COLUMNS: check-ins, doses, corrections by group and site
    provenance: dict[str, str]  # what produced the report: when, cut-off, software, protocol, database, counts


ALL_SITES = N_("all sites")  # a whole-cell word: the report translates it


def _reported(spec: InfectionField, value: Any) -> Any:
    """An infection field as the report tabulates it: codes, several joined by "+", yes/no, a missing text as
    "not identified"."""
    if spec.many:
        return "+".join(sorted(value))
    if spec.value_type == "boolean":
        return "yes" if value else "no"
    if spec.enum_type is not None:
        return value.value
    if not spec.required:
        return value or ORGANISM_NOT_IDENTIFIED
    return value


async def load_study(
    session: AsyncSession,
    *,
    protocol: StudyProtocol,
    cutoff: date,
    now: datetime | None = None,
    site_id: int | None = None,
) -> StudyData:
    """The whole study's data, or (`site_id`) one site's: its patients, their infections and adherence."""
    first_onset = (
        select(Infection.patient_id, func.min(Infection.onset_date).label("onset"))
        .where(Infection.onset_date <= cutoff, Infection.voided_at.is_(None))
        .group_by(Infection.patient_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(Patient, Site.code, first_onset.c.onset)
            .join(Site, Patient.site_id == Site.id)
            .outerjoin(first_onset, first_onset.c.patient_id == Patient.id)
            .where(Patient.baseline_date <= cutoff, site_scope(site_id))
            .order_by(Patient.study_id)
        )
    ).all()
    at_cutoff = await statuses_at_cutoff(session, patients=[patient for patient, _, _ in rows], cutoff=cutoff)
    last_contacts = await _last_contacts(session, cutoff=cutoff)
    first_checkins = await _first_checkins(session, cutoff=cutoff)
    onsets: dict[int, list[date]] = {}
    for patient_id, day in await session.execute(
        select(Infection.patient_id, Infection.onset_date).where(
            Infection.onset_date <= cutoff, Infection.voided_at.is_(None)
        )
    ):
        onsets.setdefault(patient_id, []).append(day)
    records: list[dict[str, Any]] = []
    everyone: list[dict[str, Any]] = []
    for patient, site, onset in rows:
        state = at_cutoff[patient.id]
        everyone.append({"group": patient.group.value, "stages": flow_stages(state, onset)})
        if state.consented_at is None:
            continue
        end, end_reason = _follow_up_end(
            patient, state, onset, protocol=protocol, cutoff=cutoff, last_contact=last_contacts.get(patient.id)
        )
        days = (end - patient.baseline_date).days
        end_all, _ = _follow_up_end(  # all infections (recurrent): follow-up does not stop at the first
            patient, state, None, protocol=protocol, cutoff=cutoff, last_contact=last_contacts.get(patient.id)
        )
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
                "end_reason": end_reason,
                "days_all": (end_all - patient.baseline_date).days,
                "infections": sum(patient.baseline_date <= day <= end_all for day in onsets.get(patient.id, [])),
                "preventive_medicines": tuple(patient.preventive_medicines or ()),
                **first_checkins.get(patient.id, {"prednisone_mg": None, "immunosuppressants": None}),
            }
        )
    analysed = {record["study_id"] for record in records}
    infections = await session.execute(
        select(Patient.study_id, Patient.group, *(getattr(Infection, spec.name) for spec in INFECTION_FIELDS))
        .join(Patient, Infection.patient_id == Patient.id)
        .where(
            Infection.onset_date <= cutoff,
            Infection.voided_at.is_(None),
            Patient.consented_at.is_not(None),
            site_scope(site_id),
        )
    )
    infection_rows = [
        {
            "study_id": study_id,
            "group": group.value,
            **{spec.column: _reported(spec, value) for spec, value in zip(INFECTION_FIELDS, values, strict=True)},
        }
        for study_id, group, *values in infections
        if study_id in analysed  # consented by the cut-off
    ]
    return StudyData(
        patients=pd.DataFrame.from_records(
            records,
            columns=[
                "study_id",
                "site",
                "group",
                "baseline",
                "end",
                "days",
                "person_years",
                "event",
                "end_reason",
                "days_all",
                "infections",
                "preventive_medicines",
                "prednisone_mg",
                "immunosuppressants",
            ],
        ),
        infections=pd.DataFrame.from_records(
            infection_rows, columns=["study_id", "group", *(spec.column for spec in INFECTION_FIELDS)]
        ),
        adherence=await _adherence(session, cutoff=cutoff, site_id=site_id),
        quality=await data_quality(session, cutoff=cutoff, site_id=site_id),
        provenance=provenance(
            session,
            protocol=protocol,
            cutoff=cutoff,
            now=now or datetime.now(UTC),
            scope=ALL_SITES if site_id is None else (await session.get_one(Site, site_id)).code,
            counts={
                "patients_enrolled": len(everyone),
                "patients_analysed": len(records),
                "infections_confirmed": len(infection_rows),
            },
        ),
        cutoff=cutoff,
        flow=pd.DataFrame.from_records(
            [
                {
                    "stage": stage,
                    **{
                        group.value: sum(stage in row["stages"] for row in everyone if row["group"] == group.value)
                        for group in Group
                    },
                }
                for stage in FLOW_STAGES
            ],
            columns=["stage", *(group.value for group in Group)],
        ),
    )


def _follow_up_end(
    patient: Patient,
    state: StatusAtCutoff,
    onset: date | None,
    *,
    protocol: StudyProtocol,
    cutoff: date,
    last_contact: date | None,
) -> tuple[date, str]:
    """The earliest of the first infection's onset, withdrawal of consent, death, month 24 and the cut-off;
    a patient lost to follow-up or unreachable is censored at the last contact. Returns the end and why (the
    first reason in this order when two fall on the same day)."""
    ends = []
    if onset is not None:
        ends.append((onset, "infection"))
    if patient.died_on is not None:
        ends.append((patient.died_on, "died"))
    if state.status is PatientStatus.WITHDRAWN and state.ended_at is not None:
        ends.append((state.ended_at.astimezone(ZoneInfo(patient.timezone)).date(), "withdrew_consent"))
    if state.status is PatientStatus.LOST or state.unreachable:
        ends.append((last_contact or patient.baseline_date, "lost_to_follow_up"))
    ends.append((monthly_anniversary(patient.baseline_date, protocol.follow_up_end.after_months), "month_24"))
    ends.append((cutoff, "cutoff"))
    end, reason = min(ends, key=lambda pair: pair[0])  # min keeps the first of equal dates
    return max(end, patient.baseline_date), reason


async def _first_checkins(session: AsyncSession, *, cutoff: date) -> dict[int, dict[str, Any]]:
    """Each patient's baseline treatment: the prednisone-equivalent mg/day and the immunosuppressants (a tuple of
    drug codes) answered at the first submitted monthly check-in before the cut-off; None when not answered."""
    submitted = (
        (QuestionnaireResponse.form == FormKind.CHECKIN)
        & (QuestionnaireResponse.status == ResponseStatus.SUBMITTED)
        & (QuestionnaireResponse.submitted_at < end_of(cutoff))
    )
    first = (
        select(QuestionnaireResponse.patient_id, func.min(QuestionnaireResponse.submitted_at).label("first"))
        .where(submitted)
        .group_by(QuestionnaireResponse.patient_id)
        .subquery()
    )
    rows = await session.execute(
        select(QuestionnaireResponse.patient_id, Answer.item_id, Answer.value)
        .join(
            first,
            (first.c.patient_id == QuestionnaireResponse.patient_id)
            & (first.c.first == QuestionnaireResponse.submitted_at),
        )
        .join(Answer, Answer.response_id == QuestionnaireResponse.id)
        .where(submitted, Answer.item_id.in_(("prednisone_mg", "immunosuppressants")))
    )
    found: dict[int, dict[str, Any]] = {}
    for patient_id, item_id, value in rows:
        entry = found.setdefault(patient_id, {"prednisone_mg": None, "immunosuppressants": None})
        if item_id == "prednisone_mg" and isinstance(value, int | float):
            entry["prednisone_mg"] = float(value)
        elif item_id == "immunosuppressants" and isinstance(value, list):
            entry["immunosuppressants"] = tuple(code for code in value if code != "none")
    return found


async def _last_contacts(session: AsyncSession, *, cutoff: date) -> dict[int, date]:
    """Each patient's last contact (UTC date) up to the cut-off: a submitted questionnaire, a dose answer, or an
    infection found at a clinic visit (its onset)."""
    latest: dict[int, date] = {}
    moment = end_of(cutoff)
    sources = (
        select(QuestionnaireResponse.patient_id, func.max(QuestionnaireResponse.submitted_at))
        .where(QuestionnaireResponse.status == ResponseStatus.SUBMITTED, QuestionnaireResponse.submitted_at < moment)
        .group_by(QuestionnaireResponse.patient_id),
        select(ScheduledContact.patient_id, func.max(ScheduledContact.answered_at))
        .where(ScheduledContact.kind == ContactKind.DOSE, ScheduledContact.answered_at < moment)
        .group_by(ScheduledContact.patient_id),
        select(Infection.patient_id, func.max(Infection.onset_date))
        .where(
            Infection.source == InfectionSource.CLINIC, Infection.voided_at.is_(None), Infection.onset_date <= cutoff
        )
        .group_by(Infection.patient_id),
    )
    for query in sources:
        for patient_id, when in await session.execute(query):
            if when is None:
                continue
            day = when.date() if isinstance(when, datetime) else when
            latest[patient_id] = max(latest.get(patient_id, day), day)
    return latest


async def _adherence(session: AsyncSession, *, cutoff: date, site_id: int | None) -> pd.DataFrame:
    """Doses whose day has passed and check-ins due (not open at the cut-off), by group: how many were answered."""
    closed = (
        (ScheduledContact.planned_date < cutoff)
        & (ScheduledContact.status != ContactStatus.CANCELLED)
        & ~open_at_cutoff(cutoff)
    )
    rows = await session.execute(
        select(Patient.group, ScheduledContact.kind, ScheduledContact.status, func.count())
        .join(Patient, ScheduledContact.patient_id == Patient.id)
        .where(closed, Patient.consented_at.is_not(None), site_scope(site_id))
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
