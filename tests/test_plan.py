"""The schedule's pure functions: month ends, daylight saving, the dose cycles."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, date, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.plan import (
    checkin_contacts,
    checkin_nudge_times,
    dose_contacts,
    local_instant,
    monthly_anniversary,
    parse_clock_time,
)
from bot.protocol import StudyProtocol

ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Santiago", "UTC"]
baselines = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))
clock_times = st.times().map(lambda moment: moment.replace(second=0, microsecond=0))
zones = st.sampled_from(ZONES).map(ZoneInfo)


@given(baseline=baselines, month=st.integers(1, 24))
def test_it_clamps_an_anniversary_to_the_end_of_a_short_month(baseline: date, month: int) -> None:
    day = monthly_anniversary(baseline, month)
    months_later = baseline.year * 12 + baseline.month - 1 + month
    year, month_index = divmod(months_later, 12)
    assert (day.year, day.month) == (year, month_index + 1)
    last_day = calendar.monthrange(day.year, day.month)[1]
    assert day.day == min(baseline.day, last_day)


def test_it_puts_the_anniversary_of_31_january_on_the_last_day_of_february() -> None:
    assert monthly_anniversary(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert monthly_anniversary(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert monthly_anniversary(date(2027, 1, 31), 2) == date(2027, 3, 31)


@given(baseline=baselines, at=clock_times, zone=zones)
def test_it_plans_24_checkins_at_the_local_reminder_time(
    protocol: StudyProtocol, baseline: date, at: time, zone: ZoneInfo
) -> None:
    contacts = checkin_contacts(baseline=baseline, reminder_time=at, zone=zone, plan=protocol.checkin_plan)
    assert [contact.month for contact in contacts] == list(range(1, 25))
    assert all(earlier.due_at < later.due_at for earlier, later in itertools.pairwise(contacts))
    for contact in contacts:
        local = contact.due_at.astimezone(zone)
        assert local.date() == contact.planned_date
        assert contact.due_at.tzinfo is UTC
        # The wall-clock time is the reminder time, or later by the gap when it does not exist that day.
        shift = local.replace(tzinfo=None) - local.replace(hour=at.hour, minute=at.minute, tzinfo=None)
        assert timedelta(0) <= shift <= timedelta(hours=1)
        assert contact.window_end > contact.due_at + timedelta(days=6)


@given(start=baselines, at=clock_times, zone=zones)
def test_it_plans_seven_doses_every_other_day_in_each_of_three_cycles(
    protocol: StudyProtocol, start: date, at: time, zone: ZoneInfo
) -> None:
    doses = dose_contacts(
        il2_start=start,
        first_day=start,
        last_day=start + timedelta(days=730),
        reminder_time=at,
        zone=zone,
        regimen=protocol.dose_regimen,
    )
    assert len(doses) == 21
    assert [(dose.cycle, dose.dose_number) for dose in doses[:8]] == [(1, n) for n in range(1, 8)] + [(2, 1)]
    for dose in doses:
        offset = (dose.planned_date - start).days
        assert offset == 28 * ((dose.cycle or 0) - 1) + 2 * ((dose.dose_number or 0) - 1)
        # Open until the end of the patient's local day.
        assert dose.window_end == local_instant(dose.planned_date + timedelta(days=1), time(0), zone)
        assert dose.due_at < dose.window_end


def test_it_leaves_out_doses_before_the_baseline(protocol: StudyProtocol) -> None:
    start = date(2026, 1, 1)
    doses = dose_contacts(
        il2_start=start,
        first_day=date(2026, 1, 29),
        last_day=date(2028, 1, 1),
        reminder_time=time(9),
        zone=ZoneInfo("UTC"),
        regimen=protocol.dose_regimen,
    )
    assert len(doses) == 14
    assert doses[0].planned_date == date(2026, 1, 29)


def test_it_moves_a_reminder_in_the_spring_forward_gap_to_after_the_gap() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    instant = local_instant(date(2027, 3, 28), time(2, 30), berlin)
    assert instant.astimezone(berlin).time() == time(3, 30)


def test_it_takes_the_first_of_two_repeated_autumn_times() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    instant = local_instant(date(2027, 10, 31), time(2, 30), berlin)
    assert instant.hour == 0  # 02:30 CEST (UTC+2), not 02:30 CET (UTC+1)


def test_it_keeps_checkins_at_nine_local_across_a_daylight_saving_change(protocol: StudyProtocol) -> None:
    new_york = ZoneInfo("America/New_York")
    contacts = checkin_contacts(
        baseline=date(2027, 2, 10), reminder_time=time(9), zone=new_york, plan=protocol.checkin_plan
    )
    assert contacts[0].due_at.hour == 14  # 09:00 EST is 14:00 UTC
    assert contacts[1].due_at.hour == 13  # 09:00 EDT is 13:00 UTC
    assert {contact.due_at.astimezone(new_york).time() for contact in contacts} == {time(9)}


def test_it_nudges_at_the_same_local_time_across_a_daylight_saving_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    due = local_instant(date(2027, 3, 27), time(9), berlin)
    nudges = checkin_nudge_times(due, [1, 3], berlin)
    assert [nudge.astimezone(berlin).time() for nudge in nudges] == [time(9), time(9)]
    assert nudges[0] - due == timedelta(hours=23)


def test_it_reads_clock_times_as_patients_type_them() -> None:
    assert parse_clock_time("9:00") == time(9)
    assert parse_clock_time(" 21：30 ") == time(21, 30)
    assert parse_clock_time("07.45") == time(7, 45)
    for bad in ("24:00", "9", "abc", "9:7", "", "12:60"):
        assert parse_clock_time(bad) is None
