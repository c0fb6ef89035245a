"""Typed text as it is kept: what a person can see, nothing hidden."""

from __future__ import annotations

import unicodedata


def visible_text(text: str) -> str:
    """The text with runs of white space made one space and invisible characters removed (controls, zero-width
    spaces and joiners, direction marks); "" when nothing visible is left."""
    kept = "".join(char for char in text if not unicodedata.category(char).startswith("C") or char.isspace())
    return " ".join(kept.split())
