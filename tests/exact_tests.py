"""The Fisher–Freeman–Halton p for an r×2 table, by enumerating every table with the same margins."""

from __future__ import annotations

from itertools import product
from math import lgamma

import numpy as np


def exact_freeman_halton(counts: np.ndarray) -> float:
    rows, first_column = counts.sum(axis=1), int(counts[:, 0].sum())

    def log_probability(column: tuple[int, ...]) -> float:
        other = [row - cell for row, cell in zip(rows, column, strict=True)]
        return -sum(lgamma(cell + 1) for cell in (*column, *other))

    observed = log_probability(tuple(int(cell) for cell in counts[:, 0]))
    tables = [column for column in product(*(range(int(row) + 1) for row in rows)) if sum(column) == first_column]
    weights = np.array([log_probability(column) for column in tables])
    total = np.exp(weights).sum()
    return float(np.exp(weights[weights <= observed + 1e-9]).sum() / total)
