"""The report's outcome models agree with computations written out independently of lifelines and statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.report_baseline import IMMUNOSUPPRESSANT_CLASSES
from bot.report_models import cox_models, recurrent_rates
from bot.statistics import freeman_halton_p
from tests.cox_by_hand import cox_by_hand
from tests.exact_tests import exact_freeman_halton


def synthetic_dataset(size: int = 160, seed: int = 3) -> pd.DataFrame:
    """A cohort where IL-2 and a higher steroid dose change the hazard; whole days, so some event times tie."""
    rng = np.random.default_rng(seed)
    il2 = rng.integers(0, 2, size)
    prednisone = rng.choice([0.0, 2.5, 5.0, 7.5, 10.0, 15.0, 20.0], size)
    antimetabolite = rng.integers(0, 2, size)
    hydroxychloroquine = rng.integers(0, 2, size)
    hazard = np.exp(-6.5 - 0.5 * il2 + 0.06 * prednisone + 0.3 * antimetabolite)
    onset = np.ceil(rng.exponential(1 / hazard))
    censored = rng.integers(30, 731, size)
    days = np.minimum(onset, censored).astype(int)
    classes = {name: np.zeros(size) for name in IMMUNOSUPPRESSANT_CLASSES}
    classes["antimetabolite"], classes["hydroxychloroquine"] = antimetabolite * 1.0, hydroxychloroquine * 1.0
    return pd.DataFrame(
        {
            "study_id": [f"P{number}" for number in range(size)],
            "group": np.where(il2 == 1, "il2", "control"),
            "site": "PKU",
            "start": "2025-01-01",
            "end": "",
            "days": days,
            "event": (onset <= censored).astype(int),
            "end_reason": "",
            "prednisone_mg": prednisone,
            **classes,
        }
    )


def test_it_estimates_crude_and_adjusted_hazard_ratios_as_a_second_implementation_does() -> None:
    dataset = synthetic_dataset()
    assert 20 < dataset["event"].sum() < 140
    assert dataset.loc[dataset["event"] == 1, "days"].duplicated().any(), "ties are part of the check"
    estimates = cox_models(dataset).estimates.set_index(["model", "term"])
    days, event = dataset["days"].to_numpy(), dataset["event"].to_numpy()
    il2 = (dataset["group"] == "il2").to_numpy(float)
    crude = cox_by_hand(il2[:, None], days, event)
    covariates = np.column_stack(
        [il2, dataset["prednisone_mg"] / 5, dataset["antimetabolite"], dataset["hydroxychloroquine"]]
    )
    adjusted = cox_by_hand(covariates, days, event)
    expected = {
        ("crude", "il2"): crude[0],
        **{
            ("adjusted", term): adjusted[number]
            for number, term in enumerate(["il2", "prednisone_per_5mg", "antimetabolite", "hydroxychloroquine"])
        },
    }
    assert set(estimates.index) == set(expected), "classes nobody took are left out of the model"
    for key, (hr, low, high, p) in expected.items():
        row = estimates.loc[key]
        assert row["hr"] == pytest.approx(hr, rel=1e-4), key
        assert row["ci_low"] == pytest.approx(low, rel=1e-3), key
        assert row["ci_high"] == pytest.approx(high, rel=1e-3), key
        assert row["p"] == pytest.approx(p, rel=1e-3, abs=1e-6), key
    assert estimates.loc[("adjusted", "il2"), "patients"] == len(dataset)


def test_it_reports_a_model_the_data_cannot_support_as_not_estimable() -> None:
    dataset = synthetic_dataset(size=12, seed=5)
    dataset["event"] = 0
    dataset.loc[0, "event"] = 1
    result = cox_models(dataset)
    assert result.estimates["hr"].isna().all()
    assert result.estimates["patients"].tolist()[0] == 12
    assert result.proportional_hazards["p"].isna().all()


def test_it_gives_all_infections_a_rate_with_a_ci_robust_to_repeated_infections() -> None:
    patients = pd.DataFrame(
        {
            "group": ["il2"] * 4 + ["control"] * 4,
            "days_all": [365, 200, 730, 100, 365, 365, 50, 400],
            "infections": [0, 3, 1, 0, 1, 0, 0, 2],
        }
    )
    for rate in recurrent_rates(patients):
        rows = patients[patients["group"] == rate.group]
        years = rows["days_all"].to_numpy() / 365.25
        count = rows["infections"].to_numpy()
        per_year = count.sum() / years.sum()
        # the sandwich variance of log(rate) for a Poisson model with one rate, written out
        variance = ((count - per_year * years) ** 2).sum() / (per_year * years.sum()) ** 2
        assert rate.per_100 == pytest.approx(100 * per_year)
        assert rate.low == pytest.approx(100 * per_year * np.exp(-1.959964 * np.sqrt(variance)), rel=1e-6)
        assert rate.high == pytest.approx(100 * per_year * np.exp(1.959964 * np.sqrt(variance)), rel=1e-6)


@pytest.mark.parametrize(
    "counts", [[[1, 2], [1, 1], [0, 1]], [[5, 0], [1, 4], [2, 2], [0, 3]], [[3, 1], [0, 4], [2, 2]]]
)
def test_it_estimates_the_fisher_freeman_halton_p_close_to_the_exact_one(counts: list[list[int]]) -> None:
    table = np.array(counts)
    assert freeman_halton_p(table) == pytest.approx(exact_freeman_halton(table), abs=0.01)
