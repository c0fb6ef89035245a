"""Formula-injection protection, for every format a spreadsheet opens (CSV, xlsx): a free text starting with
= + - @, a tab or a carriage return is prefixed with ' so that no spreadsheet runs it (OWASP's CSV-injection
advice). Codes never start so; Parquet and Stata keep the text as typed (the codebook's note says so)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from bot.services.codebook import Column, is_free_text
from bot.services.exports import Row

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: object) -> object:
    """A text a spreadsheet would run as a formula, prefixed with '; anything else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def safe_cells(columns: list[Column]) -> Callable[[Row], list[Any]]:
    """A row's values with its free-text cells (the only ones a person typed) made safe."""
    texts = [index for index, column in enumerate(columns) if is_free_text(column)]

    def safe(row: Row) -> list[Any]:
        values = list(row)
        for index in texts:
            values[index] = spreadsheet_text(values[index])
        return values

    return safe


def safe_codebook(codebook: pd.DataFrame) -> pd.DataFrame:
    return codebook.map(spreadsheet_text)
