"""What every export format implements, and the typed table the column-oriented formats share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from bot.services.codebook import Column
from bot.services.exports import Row


@dataclass(frozen=True)
class Dataset:
    """One dataset: its name (the file or sheet name), the codebook's columns, and its rows in chunks, in the
    columns' order. Each chunk stream can be read once, and datasets are read one after another."""

    name: str
    columns: list[Column]
    chunks: AsyncIterator[list[Row]]


class Writer(Protocol):
    """An export format: its name (`--format`), the suffix of its dataset files, and how it writes the datasets
    and the codebook (one row per variable, `codebook_columns()`) into a folder. Returns the files written."""

    @property
    def name(self) -> str: ...

    @property
    def suffix(self) -> str: ...

    async def write(self, datasets: Sequence[Dataset], codebook: pd.DataFrame, out: Path) -> list[Path]: ...


def frame(rows: list[Row], columns: list[Column]) -> pd.DataFrame:
    """Rows as a typed DataFrame with the codebook's columns, in its order."""
    data = pd.DataFrame.from_records(rows, columns=[column.name for column in columns])
    for column in columns:
        series = data[column.name]
        if column.type == "integer":
            data[column.name] = series.astype("Int64")
        elif column.type == "number":
            data[column.name] = series.astype("Float64")
        elif column.type == "boolean":
            data[column.name] = series.astype("boolean")
        elif column.type == "datetime":
            data[column.name] = pd.to_datetime(series, utc=True, format="ISO8601")
        elif column.type == "string":
            data[column.name] = series.astype("string")
    return data
