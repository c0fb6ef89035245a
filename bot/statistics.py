"""The comparison's statistics, as pure functions; scipy and lifelines do the mathematics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from scipy import special, stats

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
    if not len(a) or not len(b) or not patients["event"].any():  # no events: nothing to compare
        return float("nan")
    return float(logrank_test(a["days"], b["days"], a["event"], b["event"]).p_value)


@dataclass(frozen=True)
class Comparison:
    variable: str
    table: pd.DataFrame  # rows: categories, columns: groups (counts)
    test: str
    p_value: float
    sparse: bool = False  # some expected counts are below 5


SIMULATED_TABLES = 20_000


def compare_categories(infections: pd.DataFrame, variable: str) -> Comparison:
    """Counts by group: Fisher's exact test for a 2×2 table; chi-square for a larger one whose expected counts
    are all 5 or more; otherwise the Fisher–Freeman–Halton exact test, by Monte Carlo (fixed seed)."""
    table = pd.crosstab(infections[variable], infections["group"]).reindex(columns=list(GROUPS), fill_value=0)
    table = table[(table.sum(axis=1) > 0)]
    if table.shape[0] < 2 or (table.sum(axis=0) == 0).any():
        return Comparison(variable, table, "not testable", float("nan"))
    counts = table.to_numpy()
    sparse = bool((stats.contingency.expected_freq(counts) < 5).any())
    if table.shape == (2, 2):
        return Comparison(variable, table, "Fisher exact", float(stats.fisher_exact(counts).pvalue), sparse)
    if not sparse:
        return Comparison(variable, table, "chi-square", float(stats.chi2_contingency(counts).pvalue))
    return Comparison(variable, table, "Fisher-Freeman-Halton (Monte Carlo)", freeman_halton_p(counts), sparse)


def freeman_halton_p(counts: np.ndarray, *, simulations: int = SIMULATED_TABLES, seed: int = 18) -> float:
    """The Fisher–Freeman–Halton p: how often a table with the same margins is at most as probable as the one
    observed, estimated from random tables (group labels permuted); (k + 1) / (n + 1)."""
    rows, columns = counts.shape
    category = np.repeat(np.arange(rows), counts.sum(axis=1))
    group = np.concatenate([np.repeat(np.arange(columns), counts[row]) for row in range(rows)])
    shuffled = np.random.default_rng(seed).permuted(np.tile(group, (simulations, 1)), axis=1)
    cells = category[None, :] * columns + shuffled + (np.arange(simulations) * rows * columns)[:, None]
    tables = np.bincount(cells.ravel(), minlength=simulations * rows * columns).reshape(simulations, -1)
    log_probability = -special.gammaln(tables + 1).sum(axis=1)  # up to the margins' constant
    observed = -special.gammaln(counts + 1).sum()
    as_extreme = int((log_probability <= observed + 1e-9).sum())
    return (as_extreme + 1) / (simulations + 1)
