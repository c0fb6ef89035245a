"""Each patient's status as it stood on the report's cut-off date, read back from the audit trail, and the flow
stages (STROBE item 13) it puts them in.

A withdrawal, loss, completion, reinstatement or consent recorded after the cut-off (a later day in the patient's
time zone) had not happened at the cut-off: the value before the first such change is the value at the cut-off.
A death counts from its date (`died_on`), whenever it was recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import AuditEvent, Patient, PatientStatus

TRACKED = ("status", "unreachable", "ended_at", "consented_at")


@dataclass(frozen=True)
class StatusAtCutoff:
    status: PatientStatus
    unreachable: bool
    ended_at: datetime | None
    consented_at: datetime | None


async def statuses_at_cutoff(
    session: AsyncSession, *, patients: list[Patient], cutoff: date
) -> dict[int, StatusAtCutoff]:
    """For each patient (by id): status, reachability, end and consent as they were at the end of the cut-off
    date in the patient's time zone. Reads only the audit rows that can fall after the cut-off."""
    zones = {patient.id: ZoneInfo(patient.timezone) for patient in patients}
    earliest = datetime.combine(cutoff, time(), UTC)  # no time zone's next day starts before this instant
    events = await session.execute(
        select(AuditEvent.entity_id, AuditEvent.occurred_at, AuditEvent.before)
        .where(AuditEvent.entity_type == Patient.__tablename__, AuditEvent.occurred_at >= earliest)
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    earlier: dict[int, dict[str, Any]] = {}  # the value before the first change after the cut-off
    for entity_id, occurred_at, before in events:
        patient_id = int(entity_id) if entity_id.isdigit() else None  # "" for a row written before its flush
        if patient_id not in zones or occurred_at.astimezone(zones[patient_id]).date() <= cutoff:
            continue
        values = earlier.setdefault(patient_id, {})
        for key in TRACKED:
            if key in (before or {}) and key not in values:
                values[key] = before[key]
    return {patient.id: _as_of(patient, earlier.get(patient.id, {}), cutoff=cutoff) for patient in patients}


def _as_of(patient: Patient, earlier: dict[str, Any], *, cutoff: date) -> StatusAtCutoff:
    status = PatientStatus(earlier["status"]) if "status" in earlier else patient.status
    if patient.died_on is not None and patient.died_on <= cutoff:
        status = PatientStatus.DIED
    return StatusAtCutoff(
        status=status,
        unreachable=bool(earlier["unreachable"]) if "unreachable" in earlier else patient.unreachable,
        ended_at=_instant(earlier["ended_at"]) if "ended_at" in earlier else patient.ended_at,
        consented_at=_instant(earlier["consented_at"]) if "consented_at" in earlier else patient.consented_at,
    )


def _instant(value: object) -> datetime | None:
    """An audited timestamp (ISO text, as snapshot() stores it) back as an aware instant."""
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# STROBE item 13, in the order a flow diagram reads; a patient counts in every stage that applies to them
FLOW_STAGES = (
    "enrolled",
    "never_linked",  # outside the analysis
    "linked",
    "declined_consent",  # outside the analysis
    "consented",
    "in_analysis",
    "first_infection",
    "completed_24_months",
    "withdrew_consent",
    "stopped_contact",  # no more messages, followed up at the clinic
    "died",
    "lost_to_follow_up",
    "in_follow_up_at_cutoff",
)
ENDING_OF_STATUS = {
    PatientStatus.ENROLLED: "in_follow_up_at_cutoff",  # consented: the status is about to follow
    PatientStatus.ACTIVE: "in_follow_up_at_cutoff",
    PatientStatus.INFECTED: "in_follow_up_at_cutoff",
    PatientStatus.COMPLETED: "completed_24_months",
    PatientStatus.WITHDRAWN: "withdrew_consent",
    PatientStatus.CLINIC_ONLY: "stopped_contact",
    PatientStatus.DIED: "died",
    PatientStatus.LOST: "lost_to_follow_up",
}


def flow_stages(state: StatusAtCutoff, onset: date | None) -> set[str]:
    """The flow stages a patient had reached at the cut-off: who never took part is counted, not analysed."""
    if state.status is PatientStatus.DECLINED:
        return {"enrolled", "linked", "declined_consent"}
    if state.consented_at is None:
        return {"enrolled", "never_linked"}
    stages = {"enrolled", "linked", "consented", "in_analysis", ENDING_OF_STATUS[state.status]}
    if onset is not None:
        stages.add("first_infection")
    if state.unreachable and state.status in (PatientStatus.ACTIVE, PatientStatus.INFECTED):
        stages.discard("in_follow_up_at_cutoff")
        stages.add("lost_to_follow_up")
    return stages
