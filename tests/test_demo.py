"""`followup demo` runs a simulated study end to end (short here; the full one is `make demo`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bot.cli import app as cli


def test_it_simulates_a_short_study_and_writes_the_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["demo", "--dir", "demo", "--patients", "6", "--days", "45", "--seed", "3"])
    assert result.exit_code == 0, result.stderr
    assert "── A patient (Chinese) ──" in result.stdout
    assert "🤖 您好！这里是" in result.stdout  # the consent text, in Chinese
    assert "👤 [我同意]" in result.stdout
    assert "/start ••••••••" in result.stdout  # invite codes are not printed
    assert "── A clinician at PKU ──" in result.stdout
    assert "6 patients, 45 simulated days" in result.stdout
    patients = pd.read_csv(tmp_path / "demo" / "export" / "patients.csv", encoding="utf-8-sig")
    assert len(patients) == 6
    assert set(patients["status"]) <= {"active", "infected"}
    doses = pd.read_csv(tmp_path / "demo" / "export" / "doses.csv", encoding="utf-8-sig")
    assert (doses["status"] == "taken").sum() > 10
    assert (tmp_path / "demo" / "report" / "report.html").exists()
