"""`followup triage FILE.jsonl`: the triage rules on recorded answers, one JSON line out per line in."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.runtime import fail, runtime
from bot.services.errors import DomainError
from bot.services.triage import triage_lines


def triage_command(
    file: Annotated[
        Path,
        typer.Argument(help='JSON lines: {"id", "group", "answers", "hours_since_il2_dose"}; - for stdin'),
    ],
) -> None:
    """Triage answers with the protocol's thresholds; prints {"id", "level", "reasons"} per line."""
    rules = runtime().protocol.triage
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        results = triage_lines(text.splitlines(), rules=rules)
    except OSError as error:
        fail(f"{file}: {error.strerror}")
    except (UnicodeDecodeError, DomainError) as error:
        fail(str(error))
    for result in results:
        typer.echo(json.dumps(result, ensure_ascii=False))
