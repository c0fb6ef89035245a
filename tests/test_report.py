"""The comparison report's figures match an independent computation on a known synthetic cohort."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.clock import FakeClock
from bot.db import session_factory
from bot.statistics import kaplan_meier
from models import (
    ContactKind,
    ContactStatus,
    Group,
    Infection,
    InfectionSite,
    InfectionSource,
    Language,
    Outcome,
    Pathogen,
    Patient,
    PatientStatus,
    ScheduledContact,
    Treatment,
)
from tests.factories import make_site

CUTOFF = date(2026, 1, 1)
# study id: (group, baseline, onset of first infection, site type, pathogen, status)
COHORT = {
    "I1": ("il2", date(2025, 1, 1), date(2025, 4, 1), "pneumonia", "bacterial", "infected"),
    "I2": ("il2", date(2025, 1, 1), None, None, None, "active"),
    "I3": ("il2", date(2025, 3, 1), None, None, None, "active"),
    "I4": ("il2", date(2025, 6, 1), date(2025, 7, 1), "urinary", "bacterial", "infected"),
    "I5": ("il2", date(2025, 2, 1), None, None, None, "withdrawn"),  # withdrawn on 1 May 2025
    "C1": ("control", date(2025, 1, 1), date(2025, 2, 1), "pneumonia", "viral", "infected"),
    "C2": ("control", date(2025, 1, 1), date(2025, 3, 15), "pneumonia", "bacterial", "infected"),
    "C3": ("control", date(2025, 1, 1), None, None, None, "active"),
    "C4": ("control", date(2025, 5, 1), date(2025, 6, 1), "herpes_zoster", "viral", "infected"),
    "C5": ("control", date(2025, 1, 1), None, None, None, "active"),
    "C6": ("control", date(2025, 1, 1), None, None, None, "declined"),  # never started: left out
    "I6": ("il2", date(2025, 1, 1), None, None, None, "active"),  # never linked Telegram: left out
}
NEVER_LINKED = "I6"
EXPECTED_DAYS = {
    "I1": 90,
    "I2": 365,
    "I3": 306,
    "I4": 30,
    "I5": 89,
    "C1": 31,
    "C2": 73,
    "C3": 365,
    "C4": 31,
    "C5": 365,
}


async def build(engine: AsyncEngine, clock: FakeClock) -> None:
    async with session_factory(engine)() as session:
        site = await make_site(session, clock)
        for study_id, (group, baseline, onset, site_type, pathogen, status) in COHORT.items():
            patient = Patient(
                study_id=study_id,
                site_id=site.id,
                group=Group(group),
                status=PatientStatus(status),
                baseline_date=baseline,
                timezone="Asia/Shanghai",
                language=Language.ZH_CN,
                reminder_time=time(9),
                created_at=clock.now(),
                consented_at=(
                    None
                    if status == "declined" or study_id == NEVER_LINKED
                    else datetime.combine(baseline, time(1), UTC)
                ),
            )
            if status == "withdrawn":
                patient.ended_at = datetime(2025, 5, 1, 4, 0, tzinfo=UTC)
            session.add(patient)
            await session.flush()
            if onset is not None:
                session.add(
                    Infection(
                        patient_id=patient.id,
                        onset_date=onset,
                        site_type=InfectionSite(site_type),
                        pathogen=Pathogen(pathogen),
                        organism=None,
                        ctcae_grade=2,
                        treatments=[Treatment.ORAL_ANTIMICROBIAL.value],
                        hospitalized=False,
                        outcome=Outcome.RESOLVED,
                        source=InfectionSource.CLINIC,
                        recorded_by="test",
                        recorded_at=clock.now(),
                    )
                )
            if study_id == "I2":
                for number, state in enumerate(["taken", "taken", "taken", "unconfirmed"], start=1):
                    moment = datetime(2025, 1, number, 1, tzinfo=UTC)
                    session.add(
                        ScheduledContact(
                            patient_id=patient.id,
                            kind=ContactKind.DOSE,
                            cycle=1,
                            dose_number=number,
                            planned_date=moment.date(),
                            due_at=moment,
                            window_end=moment,
                            status=ContactStatus(state),
                            dedupe_key=f"dose:test:{number}",
                        )
                    )
        await session.commit()


def hand_log_rank(frame: pd.DataFrame) -> float:
    """The log-rank test written out: observed minus expected events in one group over the event times."""
    observed_minus_expected, variance = 0.0, 0.0
    for moment in sorted(frame.loc[frame["event"] == 1, "days"].unique()):
        at_risk = frame[frame["days"] >= moment]
        events = at_risk[(at_risk["days"] == moment) & (at_risk["event"] == 1)]
        n, d = len(at_risk), len(events)
        n1 = (at_risk["group"] == "il2").sum()
        d1 = (events["group"] == "il2").sum()
        observed_minus_expected += d1 - d * n1 / n
        if n > 1:
            variance += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return float(stats.chi2.sf(observed_minus_expected**2 / variance, 1))


async def test_it_matches_an_independent_computation(
    engine: AsyncEngine, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await build(engine, clock)
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["report", "--out", "report", "--cutoff", CUTOFF.isoformat()]
    )
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "report"
    incidence = pd.read_csv(out / "tables" / "incidence.csv").set_index("group")
    for group, prefix in (("il2", "I"), ("control", "C")):
        days = sum(value for key, value in EXPECTED_DAYS.items() if key.startswith(prefix))
        events = sum(1 for key, row in COHORT.items() if key.startswith(prefix) and row[2] is not None)
        years = days / 365.25
        assert incidence.loc[group, "infections"] == events
        assert incidence.loc[group, "person_years"] == pytest.approx(years, abs=1e-3)
        assert incidence.loc[group, "per_100_person_years"] == pytest.approx(100 * events / years)
        assert incidence.loc[group, "ci_low"] == pytest.approx(100 * stats.gamma.ppf(0.025, events) / years)
        assert incidence.loc[group, "ci_high"] == pytest.approx(100 * stats.gamma.ppf(0.975, events + 1) / years)
    years_il2 = sum(v for k, v in EXPECTED_DAYS.items() if k.startswith("I")) / 365.25
    years_control = sum(v for k, v in EXPECTED_DAYS.items() if k.startswith("C")) / 365.25
    events_il2, events_control = (
        sum(1 for key, row in COHORT.items() if key.startswith(prefix) and row[2]) for prefix in ("I", "C")
    )
    assert (events_il2, events_control) == (2, 3)
    ratio = pd.read_csv(out / "tables" / "rate_ratio.csv").iloc[0]
    total = events_il2 + events_control
    low_share = stats.beta.ppf(0.025, events_il2, total - events_il2 + 1)  # Clopper-Pearson, written out
    high_share = stats.beta.ppf(0.975, events_il2 + 1, total - events_il2)
    assert ratio["rate_ratio"] == pytest.approx((events_il2 / years_il2) / (events_control / years_control), rel=1e-3)
    assert ratio["ci_low"] == pytest.approx(low_share / (1 - low_share) * years_control / years_il2, rel=1e-3)
    assert ratio["ci_high"] == pytest.approx(high_share / (1 - high_share) * years_control / years_il2, rel=1e-3)
    patients = pd.DataFrame(
        [
            {
                "group": "il2" if key.startswith("I") else "control",
                "days": days,
                "event": int(COHORT[key][2] is not None),
            }
            for key, days in EXPECTED_DAYS.items()
        ]
    )
    log_rank = pd.read_csv(out / "tables" / "log_rank.csv").iloc[0]["p_value"]
    assert log_rank == pytest.approx(hand_log_rank(patients), rel=1e-6)
    control = kaplan_meier(patients)["control"]
    assert np.allclose(control.survival_function_at_times([30, 60, 100]).to_numpy(), [1.0, 3 / 5, 3 / 5 * 2 / 3])
    characteristics = pd.read_csv(out / "tables" / "characteristics.csv")
    pathogen = characteristics[characteristics["variable"] == "pathogen"].set_index("category")
    assert pathogen.loc["bacterial", ["il2", "control"]].tolist() == [2, 1]
    assert pathogen["test"].iloc[0] == "Fisher exact"
    assert pathogen["p_value"].iloc[0] == pytest.approx(stats.fisher_exact([[2, 1], [0, 2]]).pvalue)
    adherence = pd.read_csv(out / "tables" / "adherence.csv").set_index("group")
    assert adherence.loc["il2", "doses_confirmed_share"] == 0.75
    html = (out / "report.html").read_text()
    assert "Rate ratio (IL-2 vs control)" in html
    assert "C6" not in pd.read_csv(out / "tables" / "sites.csv").to_string()
    with Image.open(out / "km.png") as image:
        assert image.size[0] >= 600


async def test_it_counts_the_flow_of_every_enrolled_patient(
    engine: AsyncEngine, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await build(engine, clock)
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["report", "--out", "report", "--cutoff", CUTOFF.isoformat()]
    )
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "report"
    flow = pd.read_csv(out / "tables" / "flow.csv").set_index("stage")
    expected = {  # stage: (il2, control), counted from COHORT by hand
        "enrolled": (6, 6),
        "never_linked": (1, 0),
        "linked": (5, 6),
        "declined_consent": (0, 1),
        "consented": (5, 5),
        "in_analysis": (5, 5),
        "first_infection": (2, 3),
        "completed_24_months": (0, 0),
        "withdrew_consent": (1, 0),
        "stopped_contact": (0, 0),
        "died": (0, 0),
        "lost_to_follow_up": (0, 0),
        "in_follow_up_at_cutoff": (4, 5),
    }
    assert list(flow.index) == list(expected)
    for stage, counts in expected.items():
        assert tuple(flow.loc[stage, ["il2", "control"]]) == counts, stage
    page = (out / "report.html").read_text()
    assert "Never linked Telegram (not analysed)" in page
    assert 'src="flow.png"' in page
    with Image.open(out / "flow.png") as image:
        assert image.size[0] >= 600
