"""The follow-up plan as pure functions: calendar days in the patient's zone, instants in UTC.

Month ends are clamped (31 January + 1 month = 28/29 February). A local time that does not exist
(spring forward) moves forward by the gap; one that happens twice (fall back) is its first occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from bot.protocol import CheckinPlan, DoseRegimen
from models.contact import ContactKind


@dataclass(frozen=True)
class PlannedContact:
    kind: ContactKind
    planned_date: date
    due_at: datetime
    window_end: datetime
    month: int | None = None
    cycle: int | None = None
    dose_number: int | None = None

    def dedupe_key(self, patient_id: int) -> str:
        if self.kind is ContactKind.CHECKIN:
            return f"checkin:{patient_id}:m{self.month}"
        return f"dose:{patient_id}:c{self.cycle}d{self.dose_number}"


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a local day (fold=0: gaps move forward, repeats come first)."""
    return datetime.combine(day, at.replace(fold=0), tzinfo=zone).astimezone(UTC)


def monthly_anniversary(baseline: date, month: int) -> date:
    return baseline + relativedelta(months=month)


def contact_window(
    *, kind: ContactKind, day: date, reminder_time: time, zone: ZoneInfo, missed_after_days: int
) -> tuple[datetime, datetime]:
    """When a contact on a local day is due, and when its window closes.

    A check-in stays open `missed_after_days` days; a dose reminder until the end of the patient's day.
    """
    due_at = local_instant(day, reminder_time, zone)
    if kind is ContactKind.CHECKIN:
        return due_at, local_instant(day + timedelta(days=missed_after_days), reminder_time, zone)
    return due_at, local_instant(day + timedelta(days=1), time(0, 0), zone)


def checkin_contacts(*, baseline: date, reminder_time: time, zone: ZoneInfo, plan: CheckinPlan) -> list[PlannedContact]:
    """Month k (1..months) is due on the k-th monthly anniversary of the baseline."""
    contacts = []
    for month in range(1, plan.months + 1):
        day = monthly_anniversary(baseline, month)
        due_at, window_end = contact_window(
            kind=ContactKind.CHECKIN,
            day=day,
            reminder_time=reminder_time,
            zone=zone,
            missed_after_days=plan.missed_after_days,
        )
        contacts.append(
            PlannedContact(
                kind=ContactKind.CHECKIN, planned_date=day, due_at=due_at, window_end=window_end, month=month
            )
        )
    return contacts


def dose_contacts(
    *,
    il2_start: date,
    first_day: date,
    last_day: date,
    reminder_time: time,
    zone: ZoneInfo,
    regimen: DoseRegimen,
) -> list[PlannedContact]:
    """Cycle c starts on il2_start + cycle_days*(c-1); doses outside first_day..last_day are left out."""
    contacts = []
    for cycle in range(1, regimen.cycles + 1):
        cycle_start = il2_start + timedelta(days=regimen.cycle_days * (cycle - 1))
        for dose_number, offset in enumerate(regimen.dose_days, start=1):
            day = cycle_start + timedelta(days=offset)
            if not first_day <= day <= last_day:
                continue
            due_at, window_end = contact_window(
                kind=ContactKind.DOSE, day=day, reminder_time=reminder_time, zone=zone, missed_after_days=0
            )
            contacts.append(
                PlannedContact(
                    kind=ContactKind.DOSE,
                    planned_date=day,
                    due_at=due_at,
                    window_end=window_end,
                    cycle=cycle,
                    dose_number=dose_number,
                )
            )
    return contacts


def checkin_nudge_times(due_at: datetime, nudge_days: list[int], zone: ZoneInfo) -> list[datetime]:
    """Nudges at the same local wall-clock time, `nudge_days` after the check-in opened."""
    local_due = due_at.astimezone(zone)
    return [
        local_instant(local_due.date() + timedelta(days=days), local_due.time().replace(tzinfo=None), zone)
        for days in nudge_days
    ]


_CLOCK_TIME = re.compile(r"^\s*([01]?\d|2[0-3])\s*[:：.]\s*([0-5]\d)\s*$")


def parse_clock_time(text: str) -> time | None:
    """'9:00', '09:00', '21.30' or '21：30' (full-width colon) as a time; None if it is not one."""
    match = _CLOCK_TIME.match(text)
    return time(int(match.group(1)), int(match.group(2))) if match else None
