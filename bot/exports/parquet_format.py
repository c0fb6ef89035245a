"""Parquet: one file per dataset with the codebook's types, written a chunk at a time, and codebook.parquet."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bot.exports.writer import Dataset, frame

ARROW = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
}


class ParquetWriter:
    name = "parquet"
    suffix = ".parquet"

    async def write(self, datasets: Sequence[Dataset], codebook: pd.DataFrame, out: Path) -> list[Path]:
        written = []
        for dataset in datasets:
            path = out / f"{dataset.name}{self.suffix}"
            schema = pa.schema([(column.name, ARROW[column.type]) for column in dataset.columns])

            def table(frame_: pd.DataFrame, schema: pa.Schema = schema) -> pa.Table:
                return pa.Table.from_pandas(frame_, schema=schema, preserve_index=False)

            with pq.ParquetWriter(path, schema) as writer:
                writer.write_table(table(frame([], dataset.columns)))
                async for rows in dataset.chunks:
                    writer.write_table(table(frame(rows, dataset.columns)))
            written.append(path)
        codebook_path = out / f"codebook{self.suffix}"
        codebook.to_parquet(codebook_path, index=False)
        return [*written, codebook_path]
