"""The infection record's dates, in Telegram and on the console: the onset and, for a fatal infection, the date
of death. Each is a quick pick (days back from today) or typed as people write dates, and is checked against
today, the patient's baseline and the onset."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

from bot.i18n import N_
from bot.services.errors import DomainError

DEATH_DATE = "died_on"  # the patient's, asked only for a fatal infection (grade 5, outcome fatal)
DEATH_DATE_TITLE = N_("Date of death")
DEATH_DATE_PROMPT = N_("Date of death? Tap a day, or type the date (2026-03-01, 2026/3/1 or 3月1日).")
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


class Refusal(DomainError):
    """An entry the guided form refuses (the staff member is asked again)."""


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


def onset_answer(raw: str, today: date, baseline: date) -> str:
    """The onset picked or typed, neither in the future nor before the baseline, as an ISO date."""
    onset = today - timedelta(days=int(raw)) if raw in DAYS_BACK else typed_onset(raw, today)
    if onset > today:
        raise Refusal(N_("The onset cannot be in the future."))
    if onset < baseline:
        raise Refusal(
            N_("The onset cannot be before the patient's baseline ({baseline}): please check the date."),
            baseline=baseline.isoformat(),
        )
    return onset.isoformat()


def death_date_answer(raw: str, today: date, onset: date) -> str:
    """The date of death picked or typed, neither in the future nor before the onset, as an ISO date."""
    died_on = today - timedelta(days=int(raw)) if raw in DAYS_BACK else typed_onset(raw, today)
    if died_on > today:
        raise Refusal(N_("The date of death cannot be in the future."))
    if died_on < onset:
        raise Refusal(N_("The date of death cannot be before the onset ({onset})."), onset=onset.isoformat())
    return died_on.isoformat()
