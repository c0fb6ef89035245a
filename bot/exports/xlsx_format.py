"""xlsx: one workbook, study.xlsx, with a sheet per dataset and the codebook, written row by row (openpyxl's
write-only mode keeps memory bounded). Excel keeps no time zone: instants are written as naive UTC."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook

from bot.exports.spreadsheet import safe_cells, safe_codebook
from bot.exports.writer import Dataset


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return None if value is pd.NA or (isinstance(value, float) and pd.isna(value)) else value


class XlsxWriter:
    name = "xlsx"
    suffix = ".xlsx"

    async def write(self, datasets: Sequence[Dataset], codebook: pd.DataFrame, out: Path) -> list[Path]:
        workbook = Workbook(write_only=True)
        for dataset in datasets:
            sheet = workbook.create_sheet(dataset.name)
            sheet.append([column.name for column in dataset.columns])
            safe = safe_cells(dataset.columns)
            async for rows in dataset.chunks:
                for row in rows:
                    sheet.append([_cell(value) for value in safe(row)])
        sheet = workbook.create_sheet("codebook")
        sheet.append(list(codebook.columns))
        for record in safe_codebook(codebook).itertuples(index=False):
            sheet.append(list(record))
        path = out / f"study{self.suffix}"
        workbook.save(path)
        return [path]
