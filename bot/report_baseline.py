"""Table 1: the groups at baseline, with standardised mean differences and missing values counted.

The baseline treatment is what the first monthly check-in answered (prednisone-equivalent mg/day and the
immunosuppressants taken); preventive medicines are the patient's record; age is not collected by the study.
"""

from __future__ import annotations

import math

import pandas as pd

from bot.forms import DRUGS
from bot.services.preventive import PREVENTIVE_MEDICINES
from bot.statistics import GROUPS

DAYS_PER_MONTH = 365.25 / 12
# For the adjusted model the drugs are grouped by how they suppress immunity (few events allow few terms).
IMMUNOSUPPRESSANT_CLASSES = {
    "antimetabolite": ("mycophenolate", "mycophenolate_sodium", "azathioprine", "methotrexate", "leflunomide"),
    "calcineurin_or_mtor_inhibitor": ("tacrolimus", "cyclosporine", "sirolimus"),
    "cyclophosphamide": ("cyclophosphamide",),
    "biologic": ("belimumab", "telitacicept", "rituximab"),
    "hydroxychloroquine": ("hydroxychloroquine",),
    "other_immunosuppressant": ("tripterygium", "other"),
}
BASELINE_COLUMNS = ["variable", "level", "summary", *GROUPS, *(f"{group}_missing" for group in GROUPS), "smd"]


def smd_continuous(a: pd.Series, b: pd.Series) -> float:
    """(mean a − mean b) / sqrt((var a + var b) / 2); nan when either side has fewer than two values."""
    a, b = a.dropna().astype(float), b.dropna().astype(float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    pooled = math.sqrt((a.var() + b.var()) / 2)
    return 0.0 if pooled == 0 else float((a.mean() - b.mean()) / pooled)


def smd_binary(a: pd.Series, b: pd.Series) -> float:
    """(p a − p b) / sqrt((p a (1 − p a) + p b (1 − p b)) / 2) for 0/1 values; nan when a side is empty."""
    a, b = a.dropna().astype(float), b.dropna().astype(float)
    if not len(a) or not len(b):
        return float("nan")
    pa, pb = a.mean(), b.mean()
    pooled = math.sqrt((pa * (1 - pa) + pb * (1 - pb)) / 2)
    return 0.0 if pooled == 0 else float((pa - pb) / pooled)


def _count(values: pd.Series) -> str:
    present = values.dropna()
    if not len(present):
        return "0"
    return f"{int(present.sum())} ({100 * present.mean():.1f}%)"


def _median(values: pd.Series) -> str:
    present = values.dropna().astype(float)
    if not len(present):
        return "not available"
    low, middle, high = present.quantile([0.25, 0.5, 0.75])
    return f"{middle:.1f} [{low:.1f}–{high:.1f}]"


def baseline_table(patients: pd.DataFrame) -> pd.DataFrame:
    """Table 1 in long form, one row per variable and level; counts as n (%), continuous as median [IQR]."""
    by_group = {group: patients[patients["group"] == group] for group in GROUPS}
    rows: list[dict[str, object]] = [
        {"variable": "patients", "level": "", "summary": "n", **{g: str(len(by_group[g])) for g in GROUPS}}
    ]

    def binary(variable: str, level: str, flag: dict[str, pd.Series]) -> None:
        rows.append(
            {
                "variable": variable,
                "level": level,
                "summary": "n (%)",
                **{group: _count(flag[group]) for group in GROUPS},
                **{f"{group}_missing": int(flag[group].isna().sum()) for group in GROUPS},
                "smd": smd_binary(*(flag[group] for group in GROUPS)),
            }
        )

    def continuous(variable: str, values: dict[str, pd.Series]) -> None:
        rows.append(
            {
                "variable": variable,
                "level": "",
                "summary": "median [IQR]",
                **{group: _median(values[group]) for group in GROUPS},
                **{f"{group}_missing": int(values[group].isna().sum()) for group in GROUPS},
                "smd": smd_continuous(*(values[group] for group in GROUPS)),
            }
        )

    for site in sorted(patients["site"].unique()):
        binary("site", site, {group: (by_group[group]["site"] == site).astype(float) for group in GROUPS})
    rows.append({"variable": "age_band", "level": "", "summary": "not collected by the study"})
    continuous("prednisone_mg", {group: by_group[group]["prednisone_mg"].astype(float) for group in GROUPS})
    for drug in DRUGS[:-1]:  # "none" is the absence of the others
        binary(
            "immunosuppressant", drug, {group: _has(by_group[group]["immunosuppressants"], drug) for group in GROUPS}
        )
    for medicine in PREVENTIVE_MEDICINES:
        binary(
            "preventive_medicine",
            medicine,
            {group: _has(by_group[group]["preventive_medicines"], medicine) for group in GROUPS},
        )
    continuous("months_at_risk", {group: by_group[group]["days"] / DAYS_PER_MONTH for group in GROUPS})
    table = pd.DataFrame(rows, columns=BASELINE_COLUMNS)
    for group in GROUPS:
        table[f"{group}_missing"] = table[f"{group}_missing"].astype("Int64")
    return table


def _has(lists: pd.Series, code: str) -> pd.Series:
    """1.0 when the list holds the code, 0.0 when not, nan when the list is missing (not answered)."""
    return lists.map(lambda codes: float("nan") if codes is None else float(code in codes)).astype(float)


def immunosuppressant_classes(lists: pd.Series) -> pd.DataFrame:
    """One 0/1 column per class (IMMUNOSUPPRESSANT_CLASSES), nan where the answer is missing."""
    return pd.DataFrame(
        {
            name: lists.map(
                lambda codes, drugs=drugs: float("nan") if codes is None else float(any(d in codes for d in drugs))
            ).astype(float)
            for name, drugs in IMMUNOSUPPRESSANT_CLASSES.items()
        },
        index=lists.index,
    )
