"""The exporter: dataset row chunks become CSV (UTF-8 with BOM, for Excel), xlsx, parquet or Stata files.

CSV, xlsx and parquet are written chunk by chunk, so memory stays bounded; Stata's format needs the whole
table, so it holds one dataset at a time. File writes are synchronous between the chunked reads: the CLI's
loop has nothing else to do, and a site's /export is small.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import SOURCE_LANGUAGE, gettext_for
from bot.services.codebook import (
    DATASETS,
    Column,
    codebook_columns,
    codebook_rows,
    is_free_text,
    spreadsheet_text,
)
from bot.services.exports import Row, count_rows, stream_dataset

Format = Literal["csv", "xlsx", "parquet", "stata"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "parquet", "stata")
SUFFIX = {"csv": ".csv", "xlsx": ".xlsx", "parquet": ".parquet", "stata": ".dta"}
Progress = Callable[[str, int], None]
ARROW = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
}


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


def instant_text(value: Any) -> str | None:
    """A UTC instant as pandas writes one ("2026-03-02 01:00:00+00:00"): SQLite gives naive UTC text,
    PostgreSQL an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return str(value.astimezone(UTC).isoformat(" "))


def write_csv_rows(writer: Any, rows: list[Row], columns: list[Column]) -> None:
    """Rows as CSV lines through the csv module (pandas would copy every chunk into typed columns first);
    texts that a spreadsheet would run as formulas are neutralised."""
    instants = [index for index, column in enumerate(columns) if column.type == "datetime"]
    texts = _text_indexes(columns)
    for row in rows:
        values = list(row)
        for index in instants:
            values[index] = instant_text(values[index])
        for index in texts:
            values[index] = spreadsheet_text(values[index])
        writer.writerow(values)


def _text_indexes(columns: list[Column]) -> list[int]:
    """The free-text columns: the only ones a spreadsheet could take for a formula (codes never start so)."""
    return [index for index, column in enumerate(columns) if is_free_text(column)]


def _xlsx_row(row: Row, texts: list[int]) -> list[Any]:
    values = [_naive_utc(value) for value in row]
    for index in texts:
        values[index] = spreadsheet_text(values[index])
    return values


def _naive_utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return None if value is pd.NA or (isinstance(value, float) and pd.isna(value)) else value


async def export_study(
    session: AsyncSession,
    *,
    out: Path,
    fmt: Format,
    site_code: str | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Write every dataset and the codebook into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    workbook = Workbook(write_only=True) if fmt == "xlsx" else None
    for dataset, columns in DATASETS.items():
        path = out / f"{dataset}{SUFFIX[fmt]}"
        chunks = stream_dataset(session, dataset=dataset, site_code=site_code)
        if fmt == "csv":
            with path.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow([column.name for column in columns])
                async for rows in chunks:
                    write_csv_rows(writer, rows, columns)
                    _advance(progress, dataset, len(rows))
        elif fmt == "parquet":
            schema = pa.schema([(column.name, ARROW[column.type]) for column in columns])
            with pq.ParquetWriter(path, schema) as writer:
                writer.write_table(pa.Table.from_pandas(frame([], columns), schema=schema, preserve_index=False))
                async for rows in chunks:
                    writer.write_table(pa.Table.from_pandas(frame(rows, columns), schema=schema, preserve_index=False))
                    _advance(progress, dataset, len(rows))
        elif fmt == "xlsx":
            assert workbook is not None
            sheet = workbook.create_sheet(dataset)
            sheet.append([column.name for column in columns])
            texts = _text_indexes(columns)
            async for rows in chunks:
                for row in rows:
                    sheet.append(_xlsx_row(row, texts))
                _advance(progress, dataset, len(rows))
            continue
        else:
            parts = [frame(rows, columns) async for rows in chunks]
            _write_stata(pd.concat(parts) if parts else frame([], columns), columns, path)
            _advance(progress, dataset, sum(len(part) for part in parts))
        written.append(path)
    codebook = pd.DataFrame(codebook_rows(), columns=codebook_columns())
    if fmt in ("csv", "xlsx"):
        codebook = codebook.map(spreadsheet_text)
    if workbook is not None:
        sheet = workbook.create_sheet("codebook")
        sheet.append(codebook_columns())
        for record in codebook.itertuples(index=False):
            sheet.append(list(record))
        path = out / "study.xlsx"
        workbook.save(path)
        return [path]
    codebook_path = out / ("codebook.csv" if fmt != "parquet" else "codebook.parquet")
    if fmt == "parquet":
        codebook.to_parquet(codebook_path, index=False)
    else:
        codebook.to_csv(codebook_path, index=False, encoding="utf-8-sig")
    return [*written, codebook_path]


def _write_stata(data: pd.DataFrame, columns: list[Column], path: Path) -> None:
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


def _advance(progress: Progress | None, dataset: str, rows: int) -> None:
    if progress is not None:
        progress(dataset, rows)


async def csv_zip(session: AsyncSession, *, site_code: str | None, folder: Path) -> bytes:
    """The CSV datasets and the codebook in one zip (what /export sends)."""
    files = await export_study(session, out=folder, fmt="csv", site_code=site_code)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, arcname=path.name)
    return buffer.getvalue()


async def expected_rows(session: AsyncSession, *, site_code: str | None) -> dict[str, int]:
    return {dataset: await count_rows(session, dataset=dataset, site_code=site_code) for dataset in DATASETS}
