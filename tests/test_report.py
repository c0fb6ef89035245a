"""The comparison report's figures match an independent computation on a known synthetic cohort."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
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
    Answer,
    ContactKind,
    ContactStatus,
    FormKind,
    Group,
    Infection,
    InfectionSite,
    InfectionSource,
    Outcome,
    Pathogen,
    Patient,
    PatientStatus,
    QuestionnaireResponse,
    ResponseStatus,
    ScheduledContact,
    Treatment,
)
from tests.checkin_rows import add_checkin
from tests.cox_by_hand import cox_by_hand
from tests.exact_tests import exact_freeman_halton
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
# study id: the monthly check-ins' (prednisone-equivalent mg/day, immunosuppressants) in order; Table 1 takes the first
CHECKINS = {
    "I1": [(10.0, ["mycophenolate", "hydroxychloroquine"])],
    "I2": [(5.0, ["hydroxychloroquine"])],
    "I3": [(7.5, ["tacrolimus"]), (20.0, ["cyclophosphamide"])],
    "C1": [(15.0, ["cyclophosphamide"])],
    "C2": [(0.0, ["none"])],
    "C3": [(10.0, ["mycophenolate"])],
}
SECOND_INFECTION = {"C1": (date(2025, 8, 1), "urinary", "bacterial")}  # counted in "all infections" only
# C3's monthly check-ins: (status of the contact, its submitted response: None, on time or late)
C3_CHECKINS = [("done", "on time"), ("missed", "late"), ("missed", None), ("done", "on time")]
PREVENTIVE = {"I1": ["tmp_smx"], "C1": ["tmp_smx", "entecavir"]}
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
                language="zh_CN",
                reminder_time=time(9),
                created_at=clock.now(),
                consented_at=(
                    None
                    if status == "declined" or study_id == NEVER_LINKED
                    else datetime.combine(baseline, time(1), UTC)
                ),
            )
            patient.preventive_medicines = PREVENTIVE.get(study_id, [])
            if status == "withdrawn":
                patient.ended_at = datetime(2025, 5, 1, 4, 0, tzinfo=UTC)
            session.add(patient)
            await session.flush()
            infections = [(onset, site_type, pathogen)] if onset is not None else []
            if study_id in SECOND_INFECTION:
                infections.append(SECOND_INFECTION[study_id])
            for day, kind, agent in infections:
                session.add(
                    Infection(
                        patient_id=patient.id,
                        onset_date=day,
                        site_type=InfectionSite(kind),
                        pathogen=Pathogen(agent),
                        organism=None,
                        ctcae_grade=2,
                        treatments=[Treatment.ORAL_ANTIMICROBIAL.value],
                        hospitalized=False,
                        outcome=Outcome.RESOLVED,
                        source=InfectionSource.CLINIC,
                        recorded_by="test",
                        recorded_at=clock.now(),
                        corrected=study_id == "I1",
                    )
                )
            for month, (prednisone, drugs) in enumerate(CHECKINS.get(study_id, []), start=1):
                submitted = datetime.combine(baseline + timedelta(days=30 * month), time(3), UTC)
                response = QuestionnaireResponse(
                    patient_id=patient.id,
                    form=FormKind.CHECKIN,
                    status=ResponseStatus.SUBMITTED,
                    started_at=submitted,
                    submitted_at=submitted,
                )
                session.add(response)
                await session.flush()
                for item_id, value in (("prednisone_mg", prednisone), ("immunosuppressants", drugs)):
                    session.add(
                        Answer(
                            response_id=response.id,
                            item_id=item_id,
                            value=value,
                            answered_at=submitted,
                            corrected=(study_id, item_id) == ("C1", "prednisone_mg"),
                        )
                    )
            if study_id == "C3":
                for month, (state, answered) in enumerate(C3_CHECKINS, start=1):
                    await add_checkin(
                        session,
                        patient.id,
                        month=month,
                        due=datetime.combine(baseline + timedelta(days=30 * month), time(1), UTC),
                        status=state,
                        answered_after=None if answered is None else timedelta(days=9 if answered == "late" else 1),
                        late=answered == "late",
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


async def built_report(engine: AsyncEngine, clock: FakeClock) -> None:
    """The study built, and `followup report --out report --cutoff CUTOFF` run through the real CLI."""
    await build(engine, clock)
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["report", "--out", "report", "--cutoff", CUTOFF.isoformat()]
    )
    assert result.exit_code == 0, result.stderr


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
    await built_report(engine, clock)
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
    assert pathogen.loc["bacterial", ["il2", "control"]].tolist() == [2, 2], "C1's second infection counts"
    assert pathogen["test"].iloc[0] == "Fisher exact"
    assert pathogen["p_value"].iloc[0] == pytest.approx(stats.fisher_exact([[2, 2], [0, 2]]).pvalue)
    adherence = pd.read_csv(out / "tables" / "adherence.csv").set_index("group")
    assert adherence.loc["il2", "doses_confirmed_share"] == 0.75
    dataset = pd.read_csv(out / "tables" / "analysis_dataset.csv").set_index("study_id")
    assert dataset["days"].to_dict() == EXPECTED_DAYS, "person-days counted by hand"
    assert dataset.loc["I5", "end_reason"] == "withdrew_consent"
    assert dataset.loc["C3", "end_reason"] == "cutoff"
    assert dataset.loc["I1", "end_reason"] == "infection"
    assert dataset.loc["I1", "prednisone_mg"] == 10.0
    assert dataset.loc["I1", "antimetabolite"] == 1
    by_group = dataset.groupby("group")
    for group in ("il2", "control"):  # the tables come from the analysis dataset
        assert incidence.loc[group, "infections"] == by_group["event"].sum()[group]
        assert incidence.loc[group, "person_years"] == pytest.approx(by_group["days"].sum()[group] / 365.25, abs=1e-3)
    cox = pd.read_csv(out / "tables" / "cox.csv").set_index(["model", "term"])
    ((hr, low, high, p_value),) = cox_by_hand(
        (patients["group"] == "il2").to_numpy(float)[:, None], patients["days"].to_numpy(), patients["event"].to_numpy()
    )
    assert cox.loc[("crude", "il2"), "hr"] == pytest.approx(hr, rel=1e-4)
    assert cox.loc[("crude", "il2"), "ci_low"] == pytest.approx(low, rel=1e-3)
    assert cox.loc[("crude", "il2"), "ci_high"] == pytest.approx(high, rel=1e-3)
    assert cox.loc[("crude", "il2"), "p"] == pytest.approx(p_value, rel=1e-3)
    assert np.isnan(cox.loc[("adjusted", "il2"), "hr"]), "6 patients with 3 events cannot carry 6 terms"
    recurrent = pd.read_csv(out / "tables" / "recurrent.csv").set_index("group")
    assert recurrent.loc["control", "infections"] == 4, "C1's second infection counts"
    html = (out / "report.html").read_text()
    assert "Rate ratio (IL-2 vs control)" in html
    assert "not estimable" in html
    assert "<td>–</td>" not in html, "no dashes for numbers"
    assert "C6" not in pd.read_csv(out / "tables" / "sites.csv").to_string()
    with Image.open(out / "km.png") as image:
        assert image.size[0] >= 600


async def test_it_counts_the_flow_of_every_enrolled_patient(
    engine: AsyncEngine, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await built_report(engine, clock)
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


async def test_it_compares_the_groups_at_baseline_from_the_first_check_in(
    engine: AsyncEngine, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await built_report(engine, clock)
    table = pd.read_csv(tmp_path / "report" / "tables" / "baseline.csv", keep_default_na=False)
    prednisone = table[table["variable"] == "prednisone_mg"].iloc[0]
    il2, control = np.array([10.0, 5.0, 7.5]), np.array([15.0, 0.0, 10.0])  # first check-ins only
    assert prednisone["il2"] == "7.5 [6.2–8.8]"
    assert prednisone["control"] == "10.0 [5.0–12.5]"
    assert (prednisone["il2_missing"], prednisone["control_missing"]) == ("2", "2")
    pooled_sd = np.sqrt((il2.var(ddof=1) + control.var(ddof=1)) / 2)
    assert float(prednisone["smd"]) == pytest.approx((il2.mean() - control.mean()) / pooled_sd)
    drugs = table[table["variable"] == "immunosuppressant"].set_index("level")
    assert drugs.loc["hydroxychloroquine", "il2"] == "2 (66.7%)"
    assert drugs.loc["hydroxychloroquine", "control"] == "0 (0.0%)"
    assert drugs.loc["cyclophosphamide", "il2"] == "0 (0.0%)", "the later check-in is not the baseline"
    share_il2, share_control = 2 / 3, 0.0
    assert float(drugs.loc["hydroxychloroquine", "smd"]) == pytest.approx(
        (share_il2 - share_control) / np.sqrt((share_il2 * (1 - share_il2) + share_control * (1 - share_control)) / 2)
    )
    preventive = table[table["variable"] == "preventive_medicine"].set_index("level")
    assert preventive.loc["tmp_smx", "il2"] == "1 (20.0%)"
    assert preventive.loc["entecavir", "control"] == "1 (20.0%)"
    months = table[table["variable"] == "months_at_risk"].iloc[0]
    il2_months = np.array([EXPECTED_DAYS[key] for key in EXPECTED_DAYS if key.startswith("I")]) / (365.25 / 12)
    assert (
        months["il2"]
        == f"{np.median(il2_months):.1f} [{np.quantile(il2_months, 0.25):.1f}–{np.quantile(il2_months, 0.75):.1f}]"
    )
    assert table[table["variable"] == "age_band"].iloc[0]["summary"] == "not collected by the study"
    page = (tmp_path / "report" / "report.html").read_text()
    assert "Table 1. Patients at baseline" in page
    assert "(missing 2)" in page


async def test_it_draws_kaplan_meier_with_the_numbers_at_risk_by_month(
    engine: AsyncEngine, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await built_report(engine, clock)
    at_risk = pd.read_csv(tmp_path / "report" / "tables" / "at_risk.csv").set_index("month")
    assert list(at_risk.index) == [0, 3, 6, 9, 12]
    for month in at_risk.index:  # still followed and infection-free at the start of the month, counted by hand
        moment = month * 365.25 / 12
        for group, prefix in (("il2", "I"), ("control", "C")):
            expected = sum(1 for key, days in EXPECTED_DAYS.items() if key.startswith(prefix) and days >= moment)
            assert at_risk.loc[month, group] == expected, (month, group)
    assert at_risk.loc[3, "il2"] == 2  # I1 (90 days), I4 (30) and I5 (89) have left by day 91.3
    for name in ("km.png", "cumulative_incidence.png"):
        with Image.open(tmp_path / "report" / name) as image:
            assert image.size[0] >= 900
    page = (tmp_path / "report" / "report.html").read_text()
    assert "log-rank p = " in page


async def test_it_compares_first_and_all_infections_with_the_test_the_table_needs(
    engine: AsyncEngine, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await built_report(engine, clock)
    tables = tmp_path / "report" / "tables"
    first = pd.read_csv(tables / "characteristics_first.csv")
    pathogen = first[first["variable"] == "pathogen"].set_index("category")
    assert pathogen.loc["bacterial", ["il2", "control"]].tolist() == [2, 1], "one infection per patient: the first"
    assert pathogen.loc["viral", ["il2", "control"]].tolist() == [0, 2]
    every = pd.read_csv(tables / "characteristics.csv")
    site_type = every[every["variable"] == "site_type"].set_index("category")
    counts = site_type.loc[["pneumonia", "urinary", "herpes_zoster"], ["il2", "control"]].to_numpy()
    assert counts.tolist() == [[1, 2], [1, 1], [0, 1]]
    assert site_type["test"].iloc[0] == "Fisher-Freeman-Halton (Monte Carlo)"
    assert bool(site_type["sparse"].iloc[0])
    assert site_type["p_value"].iloc[0] == pytest.approx(exact_freeman_halton(counts), abs=0.01)
    assert set(every["variable"]) >= {"hospitalized", "outcome", "ctcae_grade", "treatment"}
    page = (tmp_path / "report" / "report.html").read_text()
    assert "sparse cells (expected counts below 5)" in page
    assert "First infections by group" in page


async def test_it_counts_check_ins_on_time_late_and_missed_and_corrections_by_group_and_site(
    engine: AsyncEngine, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await built_report(engine, clock)
    quality = pd.read_csv(tmp_path / "report" / "tables" / "data_quality.csv").set_index("group")
    control, il2 = quality.loc["control"], quality.loc["il2"]
    assert control["site"] == il2["site"] == "PKU"
    assert control[["checkins_due", "checkins_on_time", "checkins_late", "checkins_missed"]].tolist() == [4, 2, 1, 1]
    assert (il2["doses_due"], il2["doses_confirmed"]) == (4, 3)
    assert (control["answers_corrected"], il2["infections_corrected"]) == (1, 1)
    sites = pd.read_csv(tmp_path / "report" / "tables" / "sites.csv").set_index("group")
    assert sites.loc["control", "months_observed_median"] == pytest.approx(365 / (365.25 / 12)), "C1, C3, C5"
    page = (tmp_path / "report" / "report.html").read_text()
    assert "Months observed, median" in page
    assert "1 (25.0%)" in page


def assert_readable(out: Path) -> str:
    page = (out / "report.html").read_text()
    for dash_or_nan in ("<td>–</td>", "<td>-</td>", "NaN", "nan<", ">nan", "inf<"):
        assert dash_or_nan not in page, dash_or_nan
    return page


async def test_it_reports_an_empty_study_readably(cli_env: str, tmp_path: Path) -> None:
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["report", "--out", "report"])
    assert result.exit_code == 0, result.stderr
    page = assert_readable(tmp_path / "report")
    assert "not estimable" in page
    provenance = pd.read_csv(tmp_path / "report" / "tables" / "provenance.csv").set_index("item")["value"]
    assert provenance["patients_enrolled"] == "0"
    assert provenance["protocol"] == "NCT04136106"
    assert provenance["software_version"] == "0.1.0"
    assert "@" not in provenance["database"], "never the database URL"


async def test_it_reports_a_study_with_no_events_readably(
    engine: AsyncEngine, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    async with session_factory(engine)() as session:
        site = await make_site(session, clock)
        for study_id, group in (("I1", Group.IL2), ("C1", Group.CONTROL)):
            session.add(
                Patient(
                    study_id=study_id,
                    site_id=site.id,
                    group=group,
                    status=PatientStatus.ACTIVE,
                    baseline_date=date(2025, 1, 1),
                    timezone="Asia/Shanghai",
                    language="zh_CN",
                    reminder_time=time(9),
                    created_at=clock.now(),
                    consented_at=datetime(2025, 1, 1, 1, tzinfo=UTC),
                )
            )
        await session.commit()
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["report", "--out", "report", "--cutoff", CUTOFF.isoformat()]
    )
    assert result.exit_code == 0, result.stderr
    page = assert_readable(tmp_path / "report")
    incidence = pd.read_csv(tmp_path / "report" / "tables" / "incidence.csv").set_index("group")
    assert incidence.loc["il2", "per_100_person_years"] == 0
    assert incidence.loc["il2", "ci_high"] == pytest.approx(100 * stats.gamma.ppf(0.975, 1) / (365 / 365.25))
    upper = 100 * stats.gamma.ppf(0.975, 1) / (365 / 365.25)
    assert f"0.0–{upper:.1f}" in page, "an exact upper bound even with no events"
    assert "log-rank p not estimable" in page


async def test_it_writes_the_whole_report_in_chinese_with_the_same_tables(
    engine: AsyncEngine, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await build(engine, clock)
    for language, folder in (("zh_CN", "zh"), ("en", "en")):
        result = await asyncio.to_thread(
            CliRunner().invoke,
            cli,
            ["report", "--out", folder, "--cutoff", CUTOFF.isoformat(), "--language", language],
        )
        assert result.exit_code == 0, result.stderr
    page = (tmp_path / "zh" / "report.html").read_text()
    assert '<html lang="zh-CN">' in page
    for chinese in (
        "患者流程",
        "表 1. 基线特征",
        "风险比（HR）",
        "不可估计",
        "低剂量 IL-2 组",
        "报告来源信息",
        "（缺失 2）",
    ):
        assert chinese in page, chinese
    for english in ("Hazard ratio", "not estimable", "Table 1.", "Provenance", "Low-dose IL-2", "mycophenolate"):
        assert english not in page, english
    assert "Mycophenolate mofetil" in (tmp_path / "en" / "report.html").read_text()
    for table in ("incidence.csv", "cox.csv", "baseline.csv", "flow.csv", "analysis_dataset.csv"):
        assert (tmp_path / "zh" / "tables" / table).read_text() == (tmp_path / "en" / "tables" / table).read_text()


async def test_it_refuses_a_language_it_does_not_have(cli_env: str, tmp_path: Path) -> None:
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["report", "--out", "r", "--language", "fr"])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "--language" in result.stderr
    assert not (tmp_path / "r").exists()
