"""Outcome models: Cox hazard ratios (crude and adjusted) with the proportional-hazards check, and the rate of
all infections (recurrent) with a patient-level robust CI.

The adjusted model takes the baseline prednisone-equivalent dose (per 5 mg/day) and the immunosuppressant
classes (report_baseline.IMMUNOSUPPRESSANT_CLASSES) of the first check-in; patients without a first check-in
are left out of it (complete cases), and a class nobody (or everybody) took is dropped. A model the data cannot
support (too few events, no convergence) is reported as not estimable, never as numbers.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.statistics import proportional_hazard_test

from bot.report_baseline import IMMUNOSUPPRESSANT_CLASSES, immunosuppressant_classes
from bot.statistics import GROUPS

COX_COLUMNS = ["model", "term", "hr", "ci_low", "ci_high", "p", "patients", "events"]
PH_COLUMNS = ["model", "term", "test_statistic", "p"]
PREDNISONE_UNIT_MG = 5.0


def analysis_dataset(patients: pd.DataFrame) -> pd.DataFrame:
    """One row per analysed patient: the time to first infection, why it ends, and the adjustment covariates."""
    classes = immunosuppressant_classes(patients["immunosuppressants"])
    return pd.concat(
        [
            patients[["study_id", "group", "site", "baseline", "end", "days", "event", "end_reason"]].rename(
                columns={"baseline": "start"}
            ),
            patients["prednisone_mg"].astype(float),
            classes,
        ],
        axis=1,
    )


EXCLUDED_COLUMNS = ["reason", "patients", "events"]
# Why a patient is left out of the adjusted model (complete cases), one reason each, in this order
EXCLUSION_REASONS = ("no_checkin_before_cutoff", "prednisone_not_answered", "immunosuppressants_not_answered")


@dataclass(frozen=True)
class CoxResult:
    estimates: pd.DataFrame  # COX_COLUMNS
    proportional_hazards: pd.DataFrame  # PH_COLUMNS
    excluded: pd.DataFrame  # EXCLUDED_COLUMNS: who the adjusted model leaves out and why (every reason, 0 too)


def cox_models(dataset: pd.DataFrame) -> CoxResult:
    """Crude (group only) and adjusted Cox models of the time to first infection; il2 vs control."""
    frame = dataset.assign(il2=(dataset["group"] == GROUPS[0]).astype(float))
    covariates = [column for column in dataset.columns if column not in _NOT_COVARIATES]
    adjusted = frame.dropna(subset=covariates).assign(
        prednisone_per_5mg=lambda rows: rows["prednisone_mg"] / PREDNISONE_UNIT_MG
    )
    terms = ["prednisone_per_5mg", *(name for name in covariates if name != "prednisone_mg")]
    varying = [term for term in terms if adjusted[term].nunique() > 1]
    estimates, checks = [], []
    for model, rows, model_terms in (("crude", frame, ["il2"]), ("adjusted", adjusted, ["il2", *varying])):
        fitted = _fit(rows[["days", "event", *model_terms]])
        estimates += _estimates(model, fitted, rows, model_terms)
        checks += _ph_check(model, fitted, rows[["days", "event", *model_terms]], model_terms)
    return CoxResult(
        pd.DataFrame(estimates, columns=COX_COLUMNS),
        pd.DataFrame(checks, columns=PH_COLUMNS),
        _excluded(dataset),
    )


def _excluded(dataset: pd.DataFrame) -> pd.DataFrame:
    """Patients without the adjusted model's covariates, by reason: no check-in answered before the cut-off, or a
    first check-in without the prednisone-equivalent dose, or without the immunosuppressants."""
    no_dose = dataset["prednisone_mg"].isna()
    no_drugs = dataset[list(IMMUNOSUPPRESSANT_CLASSES)].isna().any(axis=1)
    reasons = {
        "no_checkin_before_cutoff": no_dose & no_drugs,
        "prednisone_not_answered": no_dose & ~no_drugs,
        "immunosuppressants_not_answered": ~no_dose & no_drugs,
    }
    return pd.DataFrame(
        [
            {"reason": name, "patients": int(rows.sum()), "events": int(dataset.loc[rows, "event"].sum())}
            for name in EXCLUSION_REASONS
            for rows in (reasons[name],)
        ],
        columns=EXCLUDED_COLUMNS,
    )


_NOT_COVARIATES = ("study_id", "group", "site", "start", "end", "days", "event", "end_reason")


def _fit(rows: pd.DataFrame) -> CoxPHFitter | None:
    """lifelines' Cox fit (Efron ties), or None when the data cannot support the model."""
    events = int(rows["event"].sum())
    terms = rows.shape[1] - 2
    if events < terms + 1 or any(rows[term].nunique() < 2 for term in rows.columns[2:]):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fitted = CoxPHFitter().fit(rows, duration_col="days", event_col="event")
    except Exception:  # lifelines' ConvergenceError and warnings: the model is not estimable
        return None
    summary = fitted.summary
    if not np.isfinite(summary[["coef", "se(coef)"]].to_numpy()).all() or (summary["se(coef)"] > 10).any():
        return None
    return fitted


def _estimates(model: str, fitted: CoxPHFitter | None, rows: pd.DataFrame, terms: list[str]) -> list[dict[str, object]]:
    counts = {"patients": len(rows), "events": int(rows["event"].sum())}
    if fitted is None:
        nan = float("nan")
        return [
            {"model": model, "term": term, "hr": nan, "ci_low": nan, "ci_high": nan, "p": nan, **counts}
            for term in terms
        ]
    summary = fitted.summary
    return [
        {
            "model": model,
            "term": term,
            "hr": float(summary.loc[term, "exp(coef)"]),
            "ci_low": float(summary.loc[term, "exp(coef) lower 95%"]),
            "ci_high": float(summary.loc[term, "exp(coef) upper 95%"]),
            "p": float(summary.loc[term, "p"]),
            **counts,
        }
        for term in terms
    ]


def _ph_check(model: str, fitted: CoxPHFitter | None, rows: pd.DataFrame, terms: list[str]) -> list[dict[str, object]]:
    """Scaled Schoenfeld residuals against the rank of time (Grambsch–Therneau), one test per term."""
    if fitted is None:
        return [{"model": model, "term": term, "test_statistic": float("nan"), "p": float("nan")} for term in terms]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test = proportional_hazard_test(fitted, rows, time_transform="rank")
    summary = test.summary
    return [
        {
            "model": model,
            "term": term,
            "test_statistic": float(summary.loc[term, "test_statistic"]),
            "p": float(summary.loc[term, "p"]),
        }
        for term in terms
    ]


@dataclass(frozen=True)
class RecurrentRate:
    group: str
    patients: int
    infections: int
    person_years: float
    per_100: float
    low: float
    high: float


def recurrent_rates(patients: pd.DataFrame) -> list[RecurrentRate]:
    """All infections per 100 person-years of follow-up (not stopped at the first infection), by group, with a
    Poisson model's 95% CI made robust to patients with several infections (sandwich variance by patient). When
    every patient of a group has the same rate the model fits exactly and the sandwich variance is nil: the CI is
    then not estimable (never a zero-width interval)."""
    from statsmodels.api import GLM, add_constant, families
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    rates = []
    for group in GROUPS:
        rows = patients[(patients["group"] == group) & (patients["days_all"] > 0)]
        infections, years = int(rows["infections"].sum()), float(rows["days_all"].sum()) / 365.25
        nan = float("nan")
        if infections == 0 or len(rows) < 2:
            per_100 = 0.0 if years > 0 and infections == 0 else (100 * infections / years if years > 0 else nan)
            rates.append(RecurrentRate(group, len(rows), infections, years, per_100, nan, nan))
            continue
        exposure = np.log(rows["days_all"].to_numpy() / 365.25)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", PerfectSeparationWarning)
                fitted = GLM(
                    rows["infections"].to_numpy(),
                    add_constant(np.ones(len(rows)), has_constant="add")[:, :1],
                    family=families.Poisson(),
                    offset=exposure,
                ).fit(cov_type="HC0")
        except PerfectSeparationWarning:
            rates.append(RecurrentRate(group, len(rows), infections, years, 100 * infections / years, nan, nan))
            continue
        coef, se = float(fitted.params[0]), float(fitted.bse[0])
        rates.append(
            RecurrentRate(
                group, len(rows), infections, years, 100 * math.exp(coef),
                100 * math.exp(coef - 1.959964 * se), 100 * math.exp(coef + 1.959964 * se),
            )
        )  # fmt: skip
    return rates
