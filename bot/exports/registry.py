"""The export formats, in one table, and the export itself: every dataset and the codebook, in one format.

File writes are synchronous between the chunked reads: the CLI's loop has nothing else to do, and a site's
/export is small.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from bot.exports.csv_format import CsvWriter
from bot.exports.parquet_format import ParquetWriter
from bot.exports.stata_format import StataWriter
from bot.exports.writer import Dataset, Writer
from bot.exports.xlsx_format import XlsxWriter
from bot.services.codebook import DATASETS, codebook_columns, codebook_rows
from bot.services.exports import Row, count_rows, stream_dataset

WRITERS: dict[str, Writer] = {
    writer.name: writer for writer in (CsvWriter(), XlsxWriter(), ParquetWriter(), StataWriter())
}
FORMATS = tuple(WRITERS)
Progress = Callable[[str, int], None]


async def _counted(
    chunks: AsyncIterator[list[Row]], dataset: str, progress: Progress | None
) -> AsyncIterator[list[Row]]:
    async for rows in chunks:
        yield rows
        if progress is not None:
            progress(dataset, len(rows))


async def export_study(
    session: AsyncSession,
    *,
    out: Path,
    fmt: str,
    site_code: str | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Write every dataset and the codebook into `out` in the format named `fmt` (one of FORMATS); returns the
    files written."""
    out.mkdir(parents=True, exist_ok=True)
    datasets = [
        Dataset(name, columns, _counted(stream_dataset(session, dataset=name, site_code=site_code), name, progress))
        for name, columns in DATASETS.items()
    ]
    codebook = pd.DataFrame(codebook_rows(), columns=codebook_columns())
    return await WRITERS[fmt].write(datasets, codebook, out)


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
