"""Numbers and tables as a paper prints them: 1 decimal for rates, 2 for ratios, p < 0.001, and words where
a number cannot be estimated (never a dash). The CSVs keep the raw values and their machine names."""

from __future__ import annotations

import pandas as pd

from bot.i18n import N_, Gettext
from bot.report_models import RecurrentRate


class Verbatim(str):
    """A cell shown as typed (an organism's name): escaped like every cell, never looked up for translation."""

    __slots__ = ()


GROUP_NAMES = {"il2": N_("Low-dose IL-2"), "control": N_("Control")}
NOT_ESTIMABLE = N_("not estimable")
COX_TERMS = {
    "il2": N_("Low-dose IL-2 (vs control)"),
    "prednisone_per_5mg": N_("Prednisone-equivalent dose, per 5 mg/day"),
    "antimetabolite": N_("Antimetabolite (mycophenolate, azathioprine, methotrexate, leflunomide)"),
    "calcineurin_or_mtor_inhibitor": N_("Calcineurin or mTOR inhibitor (tacrolimus, cyclosporine, sirolimus)"),
    "cyclophosphamide": N_("Cyclophosphamide"),
    "biologic": N_("Biologic (belimumab, telitacicept, rituximab)"),
    "hydroxychloroquine": N_("Hydroxychloroquine"),
    "other_immunosuppressant": N_("Other (tripterygium, other)"),
}


def number(value: float, digits: int) -> str:
    if pd.isna(value):
        return NOT_ESTIMABLE
    if value == float("inf"):
        return "∞"
    return f"{value:.{digits}f}"


def interval(low: float, high: float, digits: int) -> str:
    if pd.isna(low) or pd.isna(high):
        return NOT_ESTIMABLE
    return f"{number(low, digits)}–{number(high, digits)}"


def p_value(value: float) -> str:
    if pd.isna(value):
        return NOT_ESTIMABLE
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def p_phrase(value: float) -> str:
    """p as a sentence says it: "< 0.001", "= 0.042", "not estimable"."""
    shown = p_value(value)
    return shown if shown.startswith("<") or shown == NOT_ESTIMABLE else f"= {shown}"


def incidence_display(incidence: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            N_("Group"): incidence["group"].map(GROUP_NAMES),
            N_("Patients"): incidence["patients"],
            N_("First infections"): incidence["infections"],
            N_("Person-years"): incidence["person_years"].map(lambda v: number(v, 1)),
            N_("Per 100 person-years"): incidence["per_100_person_years"].map(lambda v: number(v, 1)),
            N_("95% CI (exact Poisson)"): [
                interval(low, high, 1) for low, high in zip(incidence["ci_low"], incidence["ci_high"], strict=True)
            ],
        }
    )


def ratio_display(ratio: pd.DataFrame) -> pd.DataFrame:
    row = ratio.iloc[0]
    return pd.DataFrame(
        [
            {
                N_("Comparison"): N_("Low-dose IL-2 vs control (crude)"),
                N_("Rate ratio"): number(row["rate_ratio"], 2),
                N_("95% CI (exact conditional)"): interval(row["ci_low"], row["ci_high"], 2),
                "p": p_value(row["p_value"]),
            }
        ]
    )


def cox_display(cox: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            N_("Model"): cox["model"].map({"crude": N_("Crude"), "adjusted": N_("Adjusted")}),
            N_("Term"): cox["term"].map(COX_TERMS),
            N_("Hazard ratio"): cox["hr"].map(lambda v: number(v, 2)),
            N_("95% CI"): [interval(low, high, 2) for low, high in zip(cox["ci_low"], cox["ci_high"], strict=True)],
            "p": cox["p"].map(p_value),
            N_("Patients (events)"): [f"{n} ({e})" for n, e in zip(cox["patients"], cox["events"], strict=True)],
        }
    )


EXCLUSION_LABELS = {
    "no_checkin_before_cutoff": N_("no check-in answered before the cut-off"),
    "prednisone_not_answered": N_("prednisone-equivalent dose not answered at the first check-in"),
    "immunosuppressants_not_answered": N_("immunosuppressants not answered at the first check-in"),
}


def exclusion_note(excluded: pd.DataFrame, patients: int, _: Gettext) -> str:
    """Under the Cox table: how many patients the adjusted model (complete cases) leaves out, and why."""
    left_out = excluded[excluded["patients"] > 0]
    if left_out.empty:
        return _(
            "Adjusted model: no patient left out; every analysed patient has the baseline dose and immunosuppressants."
        )
    reasons = _("; ").join(
        _("{reason}: {patients}").format(reason=_(EXCLUSION_LABELS[row.reason]), patients=row.patients)
        for row in left_out.itertuples()
    )
    return _(
        "Adjusted model, complete cases: {excluded} of {patients} analysed patients left out ({events} of them "
        "with a first infection). Why: {reasons}."
    ).format(
        excluded=int(left_out["patients"].sum()),
        patients=patients,
        events=int(left_out["events"].sum()),
        reasons=reasons,
    )


def ph_display(checks: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            N_("Model"): checks["model"].map({"crude": N_("Crude"), "adjusted": N_("Adjusted")}),
            N_("Term"): checks["term"].map(COX_TERMS),
            N_("p (Schoenfeld residuals vs rank of time)"): checks["p"].map(p_value),
        }
    )


def recurrent_table(rates: list[RecurrentRate]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "group": rate.group,
                "patients": rate.patients,
                "infections": rate.infections,
                "person_years": rate.person_years,
                "per_100_person_years": rate.per_100,
                "ci_low": rate.low,
                "ci_high": rate.high,
            }
            for rate in rates
        ],
        columns=["group", "patients", "infections", "person_years", "per_100_person_years", "ci_low", "ci_high"],
    )


def recurrent_display(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            N_("Group"): table["group"].map(GROUP_NAMES),
            N_("Patients"): table["patients"],
            N_("All infections"): table["infections"],
            N_("Person-years"): table["person_years"].map(lambda v: number(v, 1)),
            N_("Per 100 person-years"): table["per_100_person_years"].map(lambda v: number(v, 1)),
            N_("95% CI (Poisson, robust by patient)"): [
                interval(low, high, 1) for low, high in zip(table["ci_low"], table["ci_high"], strict=True)
            ],
        }
    )


def _share(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.1f}%)" if whole else "0"


def quality_display(quality: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            N_("Group"): quality["group"].map(GROUP_NAMES),
            N_("Study site"): quality["site"],
            N_("Check-ins due"): quality["checkins_due"],
            N_("On time"): [
                _share(n, d) for n, d in zip(quality["checkins_on_time"], quality["checkins_due"], strict=True)
            ],
            N_("Late"): [_share(n, d) for n, d in zip(quality["checkins_late"], quality["checkins_due"], strict=True)],
            N_("Missed"): [
                _share(n, d) for n, d in zip(quality["checkins_missed"], quality["checkins_due"], strict=True)
            ],
            N_("Open at the cut-off"): quality["checkins_open"],
            N_("Doses due"): quality["doses_due"],
            N_("Doses confirmed"): [
                _share(n, d) for n, d in zip(quality["doses_confirmed"], quality["doses_due"], strict=True)
            ],
            N_("Answers corrected"): quality["answers_corrected"],
            N_("Infection records corrected"): quality["infections_corrected"],
        }
    )


def sites_display(sites: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            N_("Study site"): sites["site"],
            N_("Group"): sites["group"].map(GROUP_NAMES),
            N_("Patients"): sites["patients"],
            N_("Person-years at risk"): sites["person_years"].map(lambda v: number(v, 1)),
            N_("First infections"): sites["infections"],
            N_("Months at risk, median"): sites["median_follow_up_months"].map(lambda v: number(v, 1)),
            N_("Months observed, median"): sites["months_observed_median"].map(lambda v: number(v, 1)),
        }
    )


PROVENANCE_LABELS = {
    "generated_at": N_("Generated"),
    "cutoff": N_("Cut-off"),
    "scope": N_("Sites covered"),
    "software_version": N_("Software version"),
    "protocol": N_("Protocol"),
    "protocol_digest": N_("Protocol digest (SHA-256, first 12)"),
    "database": N_("Database"),
    "patients_enrolled": N_("Patients enrolled"),
    "patients_analysed": N_("Patients analysed"),
    "infections_confirmed": N_("Confirmed infections (all, not void)"),
}


def provenance_display(provenance: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{N_("Item"): PROVENANCE_LABELS[key], N_("Value"): value} for key, value in provenance.items()],
        columns=["Item", "Value"],
    )
