"""The comparison's statistics, as pure functions; scipy and lifelines do the mathematics."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from scipy import stats

GROUPS = ("il2", "control")


@dataclass(frozen=True)
class Rate:
    events: int
    person_years: float
    per_100: float
    low: float
    high: float


def poisson_rate(events: int, person_years: float) -> Rate:
    """Incidence per 100 person-years with the exact (Garwood) Poisson 95% CI."""
    if person_years <= 0:
        return Rate(events, person_years, float("nan"), float("nan"), float("nan"))
    low = stats.chi2.ppf(0.025, 2 * events) / 2 if events > 0 else 0.0
    high = stats.chi2.ppf(0.975, 2 * events + 2) / 2
    scale = 100 / person_years
    return Rate(events, person_years, events * scale, low * scale, high * scale)


@dataclass(frozen=True)
class RateRatio:
    ratio: float
    low: float
    high: float
    p_value: float


def rate_ratio(events_a: int, years_a: float, events_b: int, years_b: float) -> RateRatio:
    """Incidence rate ratio a/b with the exact conditional (binomial) 95% CI and two-sided p."""
    total = events_a + events_b
    if total == 0 or years_a <= 0 or years_b <= 0:
        return RateRatio(float("nan"), float("nan"), float("nan"), float("nan"))
    test = stats.binomtest(events_a, total, years_a / (years_a + years_b))
    interval = test.proportion_ci(confidence_level=0.95, method="exact")

    def to_ratio(share: float) -> float:
        return float("inf") if share >= 1 else share / (1 - share) * years_b / years_a

    ratio = (events_a / years_a) / (events_b / years_b) if events_b else float("inf")
    return RateRatio(ratio, to_ratio(interval.low), to_ratio(interval.high), float(test.pvalue))


def kaplan_meier(patients: pd.DataFrame) -> dict[str, KaplanMeierFitter]:
    """Time to first infection (days since baseline), one fitter per group."""
    fitted = {}
    for group in GROUPS:
        rows = patients[patients["group"] == group]
        if len(rows):
            fitted[group] = KaplanMeierFitter(label=group).fit(rows["days"], rows["event"])
    return fitted


def log_rank_p(patients: pd.DataFrame) -> float:
    a, b = (patients[patients["group"] == group] for group in GROUPS)
    if not len(a) or not len(b):
        return float("nan")
    return float(logrank_test(a["days"], b["days"], a["event"], b["event"]).p_value)


@dataclass(frozen=True)
class Comparison:
    variable: str
    table: pd.DataFrame  # rows: categories, columns: groups (counts)
    test: str
    p_value: float


def compare_categories(infections: pd.DataFrame, variable: str) -> Comparison:
    """Counts by group, with Fisher's exact test for a 2×2 table and chi-square otherwise."""
    table = pd.crosstab(infections[variable], infections["group"]).reindex(columns=list(GROUPS), fill_value=0)
    table = table[(table.sum(axis=1) > 0)]
    if table.shape[0] < 2 or (table.sum(axis=0) == 0).any():
        return Comparison(variable, table, "not testable", float("nan"))
    if table.shape == (2, 2):
        return Comparison(variable, table, "Fisher exact", float(stats.fisher_exact(table.to_numpy()).pvalue))
    return Comparison(variable, table, "chi-square", float(stats.chi2_contingency(table.to_numpy()).pvalue))
