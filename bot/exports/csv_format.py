"""CSV: UTF-8 with a BOM (so Excel reads the Chinese labels), one file per dataset and codebook.csv, written
chunk by chunk through the csv module (pandas would copy every chunk into typed columns first)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from bot.exports.spreadsheet import safe_cells, safe_codebook
from bot.exports.writer import Dataset

ENCODING = "utf-8-sig"


def instant_text(value: Any) -> str | None:
    """A UTC instant as pandas writes one ("2026-03-02 01:00:00+00:00"): SQLite gives naive UTC text,
    PostgreSQL an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return str(value.astimezone(UTC).isoformat(" "))


def write_codebook_csv(codebook: pd.DataFrame, path: Path) -> Path:
    safe_codebook(codebook).to_csv(path, index=False, encoding=ENCODING)
    return path


class CsvWriter:
    name = "csv"
    suffix = ".csv"

    async def write(self, datasets: Sequence[Dataset], codebook: pd.DataFrame, out: Path) -> list[Path]:
        written = []
        for dataset in datasets:
            path = out / f"{dataset.name}{self.suffix}"
            instants = [index for index, column in enumerate(dataset.columns) if column.type == "datetime"]
            safe = safe_cells(dataset.columns)
            with path.open("w", encoding=ENCODING, newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow([column.name for column in dataset.columns])
                async for rows in dataset.chunks:
                    for row in rows:
                        values = safe(row)
                        for index in instants:
                            values[index] = instant_text(values[index])
                        writer.writerow(values)
            written.append(path)
        return [*written, write_codebook_csv(codebook, out / "codebook.csv")]
