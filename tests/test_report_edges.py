"""The whole report renders in both languages for the studies a statistician meets first: none, no events yet,
and events in one group only. No dashes or "nan" where a number belongs, no crash."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from models import Group
from tests.test_report import assert_readable
from tests.test_report_cutoff import FOLLOWED_FOR, consented_patients, followup

PATIENTS = {"I1": Group.IL2, "I2": Group.IL2, "C1": Group.CONTROL, "C2": Group.CONTROL}
NOT_ESTIMABLE = {"en": "not estimable", "zh_CN": "不可估计"}


async def infections_in(groups: tuple[str, ...], baseline: date) -> None:
    for study_id in (study_id for study_id in PATIENTS if study_id[0] in groups):
        onset = (baseline + timedelta(days=20 + 10 * int(study_id[1]))).isoformat()
        command = ["infections", "record", "--study-id", study_id, "--onset", onset, "--site-type", "pneumonia"]
        command += ["--pathogen", "bacterial", "--grade", "2", "--treatment", "oral_antimicrobial"]
        await asyncio.to_thread(followup, *command)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
@pytest.mark.parametrize("study", ["empty", "no events", "events in one group only"])
async def test_it_reports_every_study_shape_readably_in_both_languages(
    engine: AsyncEngine, clock: FakeClock, cli_env: str, study: str, language: str
) -> None:
    baseline = datetime.now(UTC).date() - FOLLOWED_FOR  # the CLI records and reports on the system's today
    if study != "empty":
        await consented_patients(engine, clock, PATIENTS, baseline=baseline)
    if study == "events in one group only":
        await infections_in(("C",), baseline)
    await asyncio.to_thread(followup, "report", "--out", "report", "--language", language)
    page = assert_readable(Path("report"))
    for leftover in ("None<", ">None", "nan%", "(nan", "inf%"):
        assert leftover not in page, leftover
    assert NOT_ESTIMABLE[language] in page
    if language == "zh_CN":
        for english in ("not estimable", "Value", "Not identified"):
            assert english not in page, english
    tables = Path("report") / "tables"
    incidence = pd.read_csv(tables / "incidence.csv").set_index("group")
    ratio = pd.read_csv(tables / "rate_ratio.csv").iloc[0]
    if study == "events in one group only":
        assert incidence["infections"].to_dict() == {"il2": 0, "control": 2}
        assert ratio["rate_ratio"] == 0
        assert ratio["ci_low"] == 0
        assert ratio["ci_high"] > 0, "an exact upper bound even with no events in one group"
        recurrent = pd.read_csv(tables / "recurrent.csv").set_index("group")
        assert recurrent.loc["control", "per_100_person_years"] > 0
        assert recurrent.loc["control", ["ci_low", "ci_high"]].isna().all(), "same rate for all: no robust CI"
        characteristics = pd.read_csv(tables / "characteristics.csv")
        assert set(characteristics["test"]) == {"not testable"}
    for name in ("km.png", "cumulative_incidence.png", "flow.png"):
        assert (Path("report") / name).stat().st_size > 0
