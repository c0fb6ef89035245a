"""The export formats are the writers registered in bot/exports/registry.py, no more, no fewer: each one writes
every dataset and the codebook, and one more writer in the table is one more format for the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.clock import FakeClock
from bot.exports import registry
from bot.exports.writer import Dataset
from bot.protocol import StudyProtocol
from bot.services.codebook import DATASETS, codebook_columns
from tests.study_seed import seed_study
from tests.test_exports import read


async def test_it_offers_exactly_the_registered_writers_and_each_writes_every_dataset(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await seed_study(engine, protocol, clock)
    assert registry.FORMATS == ("csv", "xlsx", "parquet", "stata")
    row_counts = []
    for name, writer in registry.WRITERS.items():
        assert writer.name == name
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["export", "--out", name, "--format", name])
        assert result.exit_code == 0, result.stderr
        written = [Path(line) for line in result.stdout.split()]
        assert all(path.suffix in (writer.suffix, ".csv") and path.is_file() for path in written), written
        tables = read(tmp_path / name, name)
        assert set(tables) == {*DATASETS, "codebook"}, name
        for dataset, columns in DATASETS.items():
            assert list(tables[dataset].columns) == [column.name for column in columns], (name, dataset)
        row_counts.append({dataset: len(tables[dataset]) for dataset in DATASETS})
    assert all(counts == row_counts[0] for counts in row_counts), row_counts
    refused = await asyncio.to_thread(CliRunner().invoke, cli, ["export", "--out", "x", "--format", "odm"])
    assert (refused.exit_code, refused.stderr) == (1, f"error: --format: use one of {', '.join(registry.FORMATS)}\n")
    assert not (tmp_path / "x").exists()


class JsonLinesWriter:
    """A format added the way the next ones (CDISC ODM, FHIR) will be: one class, one entry in the table."""

    name = "jsonl"
    suffix = ".jsonl"

    async def write(self, datasets: Sequence[Dataset], codebook: pd.DataFrame, out: Path) -> list[Path]:
        written = []
        for dataset in datasets:
            names = [column.name for column in dataset.columns]
            rows = [row async for chunk in dataset.chunks for row in chunk]
            path = out / f"{dataset.name}{self.suffix}"
            pd.DataFrame.from_records(rows, columns=names).to_json(path, orient="records", lines=True)
            written.append(path)
        path = out / f"codebook{self.suffix}"
        codebook.to_json(path, orient="records", lines=True)
        return [*written, path]


async def test_it_takes_a_new_format_from_one_entry_in_the_writers_table(
    engine: AsyncEngine,
    protocol: StudyProtocol,
    clock: FakeClock,
    cli_env: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seed_study(engine, protocol, clock)
    monkeypatch.setattr(registry, "WRITERS", {**registry.WRITERS, "jsonl": JsonLinesWriter()})
    monkeypatch.setattr(registry, "FORMATS", tuple(registry.WRITERS))
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["export", "--out", "out", "--format", "jsonl"])
    assert result.exit_code == 0, result.stderr
    for dataset, columns in DATASETS.items():
        table = pd.read_json(tmp_path / "out" / f"{dataset}.jsonl", lines=True)
        assert table.empty or list(table.columns) == [column.name for column in columns], dataset
    assert len(pd.read_json(tmp_path / "out" / "infections.jsonl", lines=True)) == 1
    codebook = pd.read_json(tmp_path / "out" / "codebook.jsonl", lines=True)
    assert list(codebook.columns) == codebook_columns()
    assert set(codebook["dataset"]) == set(DATASETS)
