"""What the study asked: the infections' site, pathogen class, organism, CTCAE grade, treatment, hospital stay and
outcome by group, counted per patient (the first infection, the one incidence counts) and per infection (all)."""

from __future__ import annotations

import pandas as pd

from bot.i18n import N_, Gettext
from bot.infection_fields import INFECTION_FIELDS
from bot.report_format import GROUP_NAMES, Verbatim, p_phrase
from bot.services.report import ORGANISM_NOT_IDENTIFIED
from bot.statistics import GROUPS, compare_categories

CHARACTERISTICS = {spec.column: spec for spec in INFECTION_FIELDS if spec.value_type != "date"}
TEST_NAMES = {
    "Fisher exact": N_("Fisher's exact test"),
    "chi-square": N_("chi-square test"),
    "Fisher-Freeman-Halton (Monte Carlo)": N_("Fisher–Freeman–Halton exact test (Monte Carlo)"),
}
NOT_IDENTIFIED = N_("Not identified")
HOSPITAL_STAY = {"yes": N_("Hospitalized"), "no": N_("Not hospitalized")}  # the form asks yes/no
COLUMNS = ["variable", "category", *GROUPS, "test", "p_value", "sparse"]


def first_infections(infections: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """Each analysed patient's first infection: the one that ends their time at risk (one per patient)."""
    ends = patients.loc[patients["event"] == 1, ["study_id", "end"]]
    merged = infections.merge(ends, on="study_id")
    return merged[merged["onset_date"] == merged["end"]].drop_duplicates("study_id").drop(columns="end")


def characteristics_table(infections: pd.DataFrame) -> pd.DataFrame:
    """Long form: one row per variable and category with the counts by group and the variable's test."""
    frames = []
    for variable in CHARACTERISTICS:
        comparison = compare_categories(infections.astype({variable: str}), variable)
        if comparison.table.empty:
            continue
        frames.append(
            comparison.table.reset_index()
            .rename(columns={variable: "category"})
            .assign(variable=variable, test=comparison.test, p_value=comparison.p_value, sparse=comparison.sparse)
        )
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def characteristics_display(table: pd.DataFrame, _: Gettext) -> pd.DataFrame:
    """As printed: n (%) of the group's infections, the test named once per variable, a note on sparse cells."""
    totals = {
        (variable, group): table.loc[table["variable"] == variable, group].sum()
        for variable in table["variable"].unique()
        for group in GROUPS
    }
    first_row = ~table["variable"].duplicated()

    def share(row: pd.Series, group: str) -> str:
        total = totals[row["variable"], group]
        return f"{row[group]} ({100 * row[group] / total:.1f}%)" if total else "0"

    def test(row: pd.Series) -> str:
        if row["test"] == "not testable":
            return _("not testable (one category or one group only)")
        name = TEST_NAMES[row["test"]]
        shown = _("{test}, p {p}").format(test=_(name), p=p_phrase(row["p_value"]))
        return shown + (_("; sparse cells (expected counts below 5)") if row["sparse"] else "")

    def category(variable: str, code: str) -> str:
        """The clinical label of a code as the infection form names it (grades with what they mean); an organism
        as typed."""
        if variable == "organism":
            return _(NOT_IDENTIFIED) if code == ORGANISM_NOT_IDENTIFIED else Verbatim(code)
        labels = HOSPITAL_STAY if variable == "hospitalized" else CHARACTERISTICS[variable].codes
        return " + ".join(_(labels[part]) if part in labels else part for part in code.split("+"))

    return pd.DataFrame(
        {
            N_("Characteristic"): [
                CHARACTERISTICS[variable].label if first else ""
                for variable, first in zip(table["variable"], first_row, strict=True)
            ],
            "": [
                category(variable, str(code))
                for variable, code in zip(table["variable"], table["category"], strict=True)
            ],
            **{GROUP_NAMES[group]: [share(row, group) for _, row in table.iterrows()] for group in GROUPS},
            N_("Test"): [
                test(row) if first else "" for (_index, row), first in zip(table.iterrows(), first_row, strict=True)
            ],
        }
    )
