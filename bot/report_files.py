"""The comparison report: report.html with km.png beside it and every table as CSV under tables/."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt
import pandas as pd

from bot.i18n import SOURCE_LANGUAGE, Gettext, gettext_for
from bot.report_baseline import baseline_table
from bot.report_characteristics import characteristics_table, first_infections
from bot.report_format import GROUP_NAMES, recurrent_table
from bot.report_km import km_figures, use_cjk_font
from bot.report_models import analysis_dataset, cox_models, recurrent_rates
from bot.report_page import FLOW_LABELS, Tables, render
from bot.services.report import StudyData
from bot.statistics import GROUPS, poisson_rate, rate_ratio


def incidence_table(data: StudyData) -> pd.DataFrame:
    rows = []
    for group in GROUPS:
        cohort = data.patients[data.patients["group"] == group]
        rate = poisson_rate(int(cohort["event"].sum()), float(cohort["person_years"].sum()))
        rows.append(
            {
                "group": group,
                "patients": len(cohort),
                "infections": rate.events,
                "person_years": round(rate.person_years, 3),
                "per_100_person_years": rate.per_100,
                "ci_low": rate.low,
                "ci_high": rate.high,
            }
        )
    return pd.DataFrame(rows)


def ratio_table(incidence: pd.DataFrame) -> pd.DataFrame:
    il2, control = (incidence[incidence["group"] == group].iloc[0] for group in GROUPS)
    ratio = rate_ratio(
        int(il2["infections"]),
        float(il2["person_years"]),
        int(control["infections"]),
        float(control["person_years"]),
    )
    return pd.DataFrame(
        [
            {
                "comparison": "il2 vs control",
                "rate_ratio": ratio.ratio,
                "ci_low": ratio.low,
                "ci_high": ratio.high,
                "p_value": ratio.p_value,
            }
        ]
    )


def site_table(data: StudyData) -> pd.DataFrame:
    grouped = data.patients.groupby(["site", "group"])
    table = grouped.agg(
        patients=("study_id", "count"),
        person_years=("person_years", "sum"),
        infections=("event", "sum"),
        median_follow_up_months=("days", "median"),
        months_observed_median=("days_all", "median"),
    ).reset_index()
    # median_follow_up_months (the name kept for the CSV's readers) is the time at risk of a first infection
    table["median_follow_up_months"] = table["median_follow_up_months"] / (365.25 / 12)
    table["months_observed_median"] = table["months_observed_median"] / (365.25 / 12)
    return table


def adherence_table(data: StudyData) -> pd.DataFrame:
    table = data.adherence.copy()
    table["doses_confirmed_share"] = table["doses_confirmed"] / table["doses_due"].where(table["doses_due"] > 0)
    table["checkins_completed_share"] = table["checkins_completed"] / table["checkins_due"].where(
        table["checkins_due"] > 0
    )
    return table


def flow_figure(flow: pd.DataFrame, path: Path, _: Gettext) -> None:
    """STROBE flow: enrolment down to the analysis, exclusions to the side, how follow-up ended below."""
    use_cjk_font()
    counts = flow.set_index("stage")

    def box(stage: str) -> str:
        il2, control = (int(counts.loc[stage, group]) for group in GROUPS)
        stage_label, il2_label, control_label = (FLOW_LABELS[stage], *(GROUP_NAMES[group] for group in GROUPS))
        return f"{_(stage_label)}\n{_(il2_label)} {il2} · {_(control_label)} {control}"

    figure, axes = plt.subplots(figsize=(9, 7), dpi=110)
    axes.set_axis_off()
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    style: dict[str, Any] = {"ha": "center", "va": "center", "fontsize": 8.5}
    style["bbox"] = {"boxstyle": "round", "fc": "#f4f6fa"}
    main = (("enrolled", 0.95), ("linked", 0.78), ("consented", 0.61), ("in_analysis", 0.44))
    for stage, height in main:
        axes.text(0.3, height, box(stage), **style)
    for (_upper, top), (_lower, bottom) in pairwise(main):
        axes.annotate("", xy=(0.3, bottom + 0.04), xytext=(0.3, top - 0.04), arrowprops={"arrowstyle": "->"})
    for stage, height in (("never_linked", 0.865), ("declined_consent", 0.695)):
        axes.text(0.77, height, box(stage), **style)
        axes.annotate("", xy=(0.55, height), xytext=(0.3, height), arrowprops={"arrowstyle": "->"})
    endings = (
        "first_infection",
        "completed_24_months",
        "withdrew_consent",
        "stopped_contact",
        "died",
        "lost_to_follow_up",
        "in_follow_up_at_cutoff",
    )
    axes.text(0.3, 0.31, box(endings[0]), **style)
    axes.annotate("", xy=(0.3, 0.35), xytext=(0.3, 0.40), arrowprops={"arrowstyle": "->"})
    for number, stage in enumerate(endings[1:]):
        axes.text(0.25 + 0.5 * (number % 2), 0.2 - 0.085 * (number // 2), box(stage), **style)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def write_report(data: StudyData, out: Path, *, language: str = SOURCE_LANGUAGE) -> Path:
    """Write report.html (in `language`), its figures and tables/*.csv into `out`; returns report.html's path."""
    _ = gettext_for(language)
    tables_dir = out / "tables"
    tables_dir.mkdir(parents=True, exist_ok=True)
    incidence = incidence_table(data)
    ratio = ratio_table(incidence)
    sites = site_table(data)
    adherence = adherence_table(data)
    p_log_rank, at_risk = km_figures(data.patients, out / "km.png", out / "cumulative_incidence.png", _)
    at_risk.to_csv(tables_dir / "at_risk.csv", index=False)
    flow_figure(data.flow, out / "flow.png", _)
    incidence.to_csv(tables_dir / "incidence.csv", index=False)
    ratio.to_csv(tables_dir / "rate_ratio.csv", index=False)
    sites.to_csv(tables_dir / "sites.csv", index=False)
    adherence.to_csv(tables_dir / "adherence.csv", index=False)
    data.quality.to_csv(tables_dir / "data_quality.csv", index=False)
    pd.DataFrame(list(data.provenance.items()), columns=["item", "value"]).to_csv(
        tables_dir / "provenance.csv", index=False
    )
    data.flow.to_csv(tables_dir / "flow.csv", index=False)
    baseline = baseline_table(data.patients)
    baseline.to_csv(tables_dir / "baseline.csv", index=False)
    dataset = analysis_dataset(data.patients)
    dataset.to_csv(tables_dir / "analysis_dataset.csv", index=False)
    cox = cox_models(dataset)
    cox.estimates.to_csv(tables_dir / "cox.csv", index=False)
    cox.proportional_hazards.to_csv(tables_dir / "proportional_hazards.csv", index=False)
    cox.excluded.to_csv(tables_dir / "cox_excluded.csv", index=False)
    recurrent = recurrent_table(recurrent_rates(data.patients))
    recurrent.to_csv(tables_dir / "recurrent.csv", index=False)
    pd.DataFrame([{"test": "log-rank", "p_value": p_log_rank}]).to_csv(tables_dir / "log_rank.csv", index=False)
    characteristics = characteristics_table(data.infections)
    characteristics_first = characteristics_table(first_infections(data.infections, data.patients))
    characteristics_first.to_csv(tables_dir / "characteristics_first.csv", index=False)
    characteristics.to_csv(tables_dir / "characteristics.csv", index=False)
    tables = Tables(
        incidence, ratio, sites, baseline, characteristics_first, characteristics, cox, recurrent, p_log_rank
    )
    page = render(data, tables, _, language)
    report = out / "report.html"
    report.write_text(page, encoding="utf-8")
    return report
