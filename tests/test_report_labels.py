"""The report speaks the reader's language: infections by their clinical labels (organisms as typed, escaped),
and the adjusted model says whom it leaves out; the CSVs keep the machine codes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.clock import FakeClock
from bot.report_models import COX_COLUMNS, EXCLUDED_COLUMNS, cox_models
from models import Group
from tests.test_report import CUTOFF, build
from tests.test_report_cutoff import FOLLOWED_FOR, consented_patients, followup
from tests.test_report_models import synthetic_dataset

TYPED = "<b>Klebsiella</b> & co"


def page(folder: str) -> str:
    return (Path(folder) / "report.html").read_text()


async def test_it_names_the_infections_as_clinicians_do_and_keeps_typed_organisms_as_typed(
    engine: AsyncEngine, clock: FakeClock, cli_env: str
) -> None:
    baseline = datetime.now(UTC).date() - FOLLOWED_FOR  # the CLI records and reports on the system's today
    patients = {"I1": Group.IL2, "C1": Group.CONTROL, "C2": Group.CONTROL}
    await consented_patients(engine, clock, patients, baseline=baseline)
    onset = (baseline + timedelta(days=10)).isoformat()
    for study_id, site_type, pathogen, organism, grade, treatment in (
        ("I1", "pneumonia", "bacterial", TYPED, "3", "iv_antimicrobial,procedure"),
        ("C1", "herpes_zoster", "viral", "Other", "2", "antiviral"),  # typed, and also a word of ours
        ("C2", "urinary", "unknown", None, "1", "none"),
    ):
        command = ["infections", "record", "--study-id", study_id, "--onset", onset, "--site-type", site_type]
        command += ["--pathogen", pathogen, "--grade", grade, "--treatment", treatment, "--outcome", "resolved"]
        command += ["--organism", organism] if organism is not None else []
        await asyncio.to_thread(followup, *command)
    for language in ("zh_CN", "en"):
        await asyncio.to_thread(followup, "report", "--out", language, "--language", language)
    zh, en = page("zh_CN"), page("en")
    for english in (
        "Pneumonia",
        "Herpes zoster",
        "Urinary tract",
        "Bacterial",
        "Viral",
        "3 · IV treatment or hospital",
        "IV antimicrobial + Procedure",
        "Resolved",
        "Not identified",
        "Not hospitalized",
    ):
        assert f"<td>{english}</td>" in en, english
        assert english not in zh, english
    for chinese in ("肺炎", "带状疱疹", "细菌", "病毒", "未明确", "未住院"):
        assert chinese in zh, chinese
    escaped = "<td>&lt;b&gt;Klebsiella&lt;/b&gt; &amp; co</td>"
    assert escaped in zh, "typed text is escaped, never markup"
    assert escaped in en
    assert TYPED not in zh + en
    assert "<td>Other</td>" in zh, "an organism as typed is not translated"
    every = pd.read_csv(Path("zh_CN", "tables", "characteristics.csv"), keep_default_na=False)
    codes = {variable: set(rows["category"]) for variable, rows in every.groupby("variable")}
    assert codes["site_type"] == {"pneumonia", "herpes_zoster", "urinary"}
    assert codes["ctcae_grade"] == {"1", "2", "3"}
    assert codes["treatment"] == {"iv_antimicrobial+procedure", "antiviral", "none"}
    assert codes["organism"] == {TYPED, "Other", "not identified"}


async def test_it_says_whom_the_adjusted_model_leaves_out_and_why(
    engine: AsyncEngine, clock: FakeClock, cli_env: str
) -> None:
    await build(engine, clock)
    for language in ("zh_CN", "en"):
        command = ("report", "--out", language, "--cutoff", CUTOFF.isoformat(), "--language", language)
        result = await asyncio.to_thread(CliRunner().invoke, cli, list(command))
        assert result.exit_code == 0, result.stderr
    excluded = pd.read_csv(Path("en", "tables", "cox_excluded.csv"))
    assert list(excluded.columns) == EXCLUDED_COLUMNS
    assert excluded.values.tolist() == [  # I4, I5, C4 and C5 have no check-in; I4 and C4 had a first infection
        ["no_checkin_before_cutoff", 4, 2],
        ["prednisone_not_answered", 0, 0],
        ["immunosuppressants_not_answered", 0, 0],
    ]
    cox = pd.read_csv(Path("en", "tables", "cox.csv"))
    assert list(cox.columns) == ["model", "term", "hr", "ci_low", "ci_high", "p", "patients", "events"]
    assert cox.loc[cox["model"] == "adjusted", "patients"].unique().tolist() == [10 - 4]
    en = page("en")
    assert (
        "Adjusted model, complete cases: 4 of 10 analysed patients left out (2 of them with a first infection). "
        "Why: no check-in answered before the cut-off: 4." in en
    )
    assert (
        "校正模型（完整病例分析）：10 例分析患者中剔除 4 例（其中 2 例发生首次感染）。"
        "原因：截止日期前未填写任何随访问卷：4 例。" in page("zh_CN")
    )


def test_it_counts_each_reason_a_patient_misses_the_adjusted_model() -> None:
    dataset = synthetic_dataset(size=40)
    dataset.loc[0:2, "prednisone_mg"] = np.nan  # three without the dose
    dataset.loc[3, ["antimetabolite", "biologic"]] = np.nan  # one without the drugs
    dataset.loc[4, ["prednisone_mg", "antimetabolite"]] = np.nan  # one without either
    result = cox_models(dataset)
    excluded = result.excluded.set_index("reason")
    assert excluded["patients"].to_dict() == {
        "no_checkin_before_cutoff": 1,
        "prednisone_not_answered": 3,
        "immunosuppressants_not_answered": 1,
    }
    assert excluded.loc["prednisone_not_answered", "events"] == dataset.loc[0:2, "event"].sum()
    adjusted = result.estimates[result.estimates["model"] == "adjusted"]
    assert adjusted["patients"].unique().tolist() == [40 - 5]
    assert list(result.estimates.columns) == COX_COLUMNS
