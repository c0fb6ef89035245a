"""The comparison report: report.html with km.png beside it and every table as CSV under tables/."""

from __future__ import annotations

import html
from itertools import pairwise
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt
import pandas as pd

from bot.report_baseline import baseline_table
from bot.report_characteristics import characteristics_display, characteristics_table, first_infections
from bot.report_format import (
    GROUP_NAMES,
    NOT_ESTIMABLE,
    cox_display,
    incidence_display,
    p_phrase,
    ph_display,
    provenance_display,
    quality_display,
    ratio_display,
    recurrent_display,
    recurrent_table,
    sites_display,
)
from bot.report_km import km_figures
from bot.report_models import CoxResult, analysis_dataset, cox_models, recurrent_rates
from bot.services.report import StudyData
from bot.statistics import GROUPS, poisson_rate, rate_ratio

FLOW_LABELS = {
    "enrolled": "Enrolled",
    "never_linked": "Never linked Telegram (not analysed)",
    "linked": "Linked Telegram",
    "declined_consent": "Declined consent (not analysed)",
    "consented": "Consented",
    "in_analysis": "In the analysis",
    "first_infection": "First confirmed infection",
    "completed_24_months": "Completed 24 months",
    "withdrew_consent": "Withdrew consent",
    "stopped_contact": "Stopped messages, followed up at the clinic",
    "died": "Died",
    "lost_to_follow_up": "Lost to follow-up (censored at the last contact)",
    "in_follow_up_at_cutoff": "Still in follow-up at the cut-off",
}


def _fmt(value: float, digits: int = 2) -> str:
    return "–" if pd.isna(value) else f"{value:.{digits}f}"


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


def flow_figure(flow: pd.DataFrame, path: Path) -> None:
    """STROBE flow: enrolment down to the analysis, exclusions to the side, how follow-up ended below."""
    counts = flow.set_index("stage")

    def box(stage: str) -> str:
        il2, control = (int(counts.loc[stage, group]) for group in GROUPS)
        return f"{FLOW_LABELS[stage]}\n{GROUP_NAMES['il2']} {il2} · {GROUP_NAMES['control']} {control}"

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


def flow_table(flow: pd.DataFrame) -> pd.DataFrame:
    return flow.assign(stage=flow["stage"].map(FLOW_LABELS))


BASELINE_LABELS = {
    "patients": "Patients",
    "site": "Site",
    "age_band": "Age band",
    "prednisone_mg": "Prednisone-equivalent dose at the first check-in, mg/day",
    "immunosuppressant": "Immunosuppressant at the first check-in",
    "preventive_medicine": "Preventive medicine",
    "months_at_risk": "Months at risk (to first infection or censoring)",
}


def baseline_html(table: pd.DataFrame) -> pd.DataFrame:
    """Table 1 as printed: plain labels, missing values beside each group, SMD with 2 decimals."""
    shown = pd.DataFrame(
        {
            "Characteristic": table["variable"].map(BASELINE_LABELS),
            "": table["level"],
            "Summary": table["summary"],
            **{
                GROUP_NAMES[group]: table[group].fillna("")
                + table[f"{group}_missing"].map(lambda n: f" (missing {int(n)})" if pd.notna(n) and n > 0 else "")
                for group in GROUPS
            },
            "Standardised mean difference": table["smd"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}"),
        }
    )
    shown.loc[table["variable"] == "age_band", "Summary"] = "not collected by the study"
    return shown


def write_report(data: StudyData, out: Path) -> Path:
    tables_dir = out / "tables"
    tables_dir.mkdir(parents=True, exist_ok=True)
    incidence = incidence_table(data)
    ratio = ratio_table(incidence)
    sites = site_table(data)
    adherence = adherence_table(data)
    p_log_rank, at_risk = km_figures(data.patients, out / "km.png", out / "cumulative_incidence.png")
    at_risk.to_csv(tables_dir / "at_risk.csv", index=False)
    flow_figure(data.flow, out / "flow.png")
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
    recurrent = recurrent_table(recurrent_rates(data.patients))
    recurrent.to_csv(tables_dir / "recurrent.csv", index=False)
    pd.DataFrame([{"test": "log-rank", "p_value": p_log_rank}]).to_csv(tables_dir / "log_rank.csv", index=False)
    characteristics = characteristics_table(data.infections)
    characteristics_first = characteristics_table(first_infections(data.infections, data.patients))
    characteristics_first.to_csv(tables_dir / "characteristics_first.csv", index=False)
    characteristics.to_csv(tables_dir / "characteristics.csv", index=False)
    page = _html(
        data, incidence, ratio, sites, adherence, (characteristics_first, characteristics), p_log_rank, baseline, cox,
        recurrent,
    )  # fmt: skip
    report = out / "report.html"
    report.write_text(page, encoding="utf-8")
    return report


def _table_html(frame: pd.DataFrame) -> str:
    return str(frame.to_html(index=False, float_format=lambda value: f"{value:.3g}", na_rep=NOT_ESTIMABLE, border=0))


def _html(
    data: StudyData,
    incidence: pd.DataFrame,
    ratio: pd.DataFrame,
    sites: pd.DataFrame,
    adherence: pd.DataFrame,
    characteristics: tuple[pd.DataFrame, pd.DataFrame],
    p_log_rank: float,
    baseline: pd.DataFrame,
    cox: CoxResult,
    recurrent: pd.DataFrame,
) -> str:
    shown = ratio_display(ratio).iloc[0]
    summary = (
        f"Rate ratio (IL-2 vs control): {shown['Rate ratio']} "
        f"(95% CI {shown['95% CI (exact conditional)']}, exact conditional; "
        f"p {p_phrase(ratio.iloc[0]['p_value'])}). "
        f"Crude hazard ratio {cox_display(cox.estimates).iloc[0]['Hazard ratio']}; "
        f"log-rank p {p_phrase(p_log_rank)}."
    )
    sections = [
        (
            "Flow of patients (STROBE; every enrolled patient, analysed or not)",
            '<img src="flow.png" alt="Flow of patients" width="760">' + _table_html(flow_table(data.flow)),
        ),
        (
            "Table 1. Patients at baseline (n (%) of those who answered; median [IQR])",
            _table_html(baseline_html(baseline)),
        ),
        (
            "First confirmed infection: incidence per 100 person-years",
            _table_html(incidence_display(incidence)) + _table_html(ratio_display(ratio)),
        ),
        (
            "Hazard ratios of first infection (Cox, Efron ties)",
            "<p>Observational comparison: the crude model has the group only; the adjusted model adds the "
            "prednisone-equivalent dose and the immunosuppressant classes of the first check-in (patients with a "
            "first check-in only). Classes: antimetabolite (mycophenolate, azathioprine, methotrexate, "
            "leflunomide), calcineurin or mTOR inhibitor (tacrolimus, cyclosporine, sirolimus), cyclophosphamide, "
            "biologic (belimumab, telitacicept, rituximab), hydroxychloroquine, other (tripterygium, other). A "
            "model with too few events for its terms is not estimable.</p>"
            + _table_html(cox_display(cox.estimates))
            + "<p>Proportional hazards: a small p suggests the hazard ratio changes over time.</p>"
            + _table_html(ph_display(cox.proportional_hazards)),
        ),
        (
            "All confirmed infections (recurrent) per 100 person-years",
            "<p>Follow-up here does not stop at the first infection.</p>" + _table_html(recurrent_display(recurrent)),
        ),
        (
            "Time to first infection (Kaplan–Meier; | marks a censored patient)",
            '<img src="km.png" alt="Kaplan-Meier curves by group" width="760">'
            '<img src="cumulative_incidence.png" alt="Cumulative incidence by group" width="760">',
        ),
        (
            "First infections by group (one per patient: the infection counted in the incidence)",
            _table_html(characteristics_display(characteristics[0])),
        ),
        (
            "All infections by group (Fisher's exact test for 2×2 tables; chi-square when every expected count is 5 "
            "or more; otherwise the Fisher–Freeman–Halton exact test by Monte Carlo, 20,000 tables)",
            _table_html(characteristics_display(characteristics[1])),
        ),
        (
            "Adherence and data quality by group and site (check-ins whose window has closed, doses whose day "
            "has passed)",
            _table_html(quality_display(data.quality)),
        ),
        ("Follow-up by site", _table_html(sites_display(sites))),
    ]
    body = "\n".join(f"<h2>{html.escape(title)}</h2>\n{content}" for title, content in sections)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>NCT04136106 group comparison</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}}</style></head><body>
<h1>Infections with low-dose IL-2 vs control in SLE (NCT04136106)</h1>
<p>Cut-off {data.cutoff.isoformat()}; {len(data.patients)} patients; person-time from baseline to the first
confirmed infection (earliest onset), withdrawal of consent, death, month 24 or the cut-off; lost to follow-up or
unreachable: censored at the last contact. Patients who never linked Telegram are counted in the flow only.</p>
<p><strong>{html.escape(summary)}</strong></p>
{body}
<h2>Provenance</h2>
{_table_html(provenance_display(data.provenance))}
</body></html>
"""
