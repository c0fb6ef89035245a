"""Stata (.dta, version 118, Unicode): one file per dataset with its variable labels, and codebook.csv. The
format needs the whole table, so one dataset at a time is held in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from pathlib import Path

import pandas as pd

from bot.exports.csv_format import write_codebook_csv
from bot.exports.writer import Dataset, frame
from bot.i18n import SOURCE_LANGUAGE, gettext_for
from bot.services.codebook import Column


def _write_dta(data: pd.DataFrame, columns: list[Column], path: Path) -> None:
    converted = pd.DataFrame(index=data.index)
    dates: dict[str, str] = {}
    for column in columns:
        series = data[column.name]
        if column.type in ("integer", "number", "boolean"):
            converted[column.name] = series.astype("Float64").astype(float)
        elif column.type == "datetime":
            converted[column.name] = series.dt.tz_convert(UTC).dt.tz_localize(None)
            dates[column.name] = "tc"
        elif column.type == "date":
            converted[column.name] = pd.to_datetime(series)
            dates[column.name] = "td"
        else:
            converted[column.name] = series.astype(object).where(series.notna(), "")
    converted.to_stata(
        path,
        write_index=False,
        version=118,
        convert_dates=dates,
        variable_labels={column.name: column.label_in(gettext_for(SOURCE_LANGUAGE))[:80] for column in columns},
    )


class StataWriter:
    name = "stata"
    suffix = ".dta"

    async def write(self, datasets: Sequence[Dataset], codebook: pd.DataFrame, out: Path) -> list[Path]:
        written = []
        for dataset in datasets:
            path = out / f"{dataset.name}{self.suffix}"
            parts = [frame(rows, dataset.columns) async for rows in dataset.chunks]
            _write_dta(pd.concat(parts) if parts else frame([], dataset.columns), dataset.columns, path)
            written.append(path)
        return [*written, write_codebook_csv(codebook, out / "codebook.csv")]
