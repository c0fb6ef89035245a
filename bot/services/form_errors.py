"""Pydantic's refusal of a form or a CSV row as a DomainError: one line naming the field, in the reader's language.

Pydantic words its messages in English only. The error types the study's forms meet have msgids here, worded
as pydantic words them so the command line reads as before; a validator's own refusal is an InvalidValue and
is shown as it is. Anything else is "field: not accepted" on a page, never pydantic's English, which only the
command line keeps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import ValidationError

from bot.i18n import N_
from bot.services.errors import Choices, DomainError

FIELD_REQUIRED = N_("{field}: Field required")
TOO_LONG = N_("{field}: at most {max_length} characters")
ONE_OF = N_("{field}: Input should be {choices}")
NOT_ACCEPTED = N_("{field}: not accepted")
QUOTED = re.compile(r"'([^']*)'")


class NotAccepted(DomainError):
    """A refusal with no msgid of its own: the field on a page, pydantic's English line on the command line."""

    def __init__(self, *, field: str, english: str) -> None:
        super().__init__(NOT_ACCEPTED, field=field)
        self.args = (english,)


def form_problem(error: ValidationError, *, pattern_rules: Mapping[str, str]) -> DomainError:
    """The first problem of `error`. `pattern_rules` maps a field with a pattern to the msgid that explains it."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "row"
    kind, context = first["type"], first.get("ctx", {})
    if kind == "value_error" and isinstance(context.get("error"), DomainError):
        problem: DomainError = context["error"]
        return problem
    if kind == "missing" or (kind == "string_too_short" and context.get("min_length") == 1):
        return DomainError(FIELD_REQUIRED, field=field)
    if kind == "string_too_long":
        return DomainError(TOO_LONG, field=field, max_length=context["max_length"])
    if kind == "enum" and (choices := QUOTED.findall(str(context.get("expected", "")))):
        return DomainError(ONE_OF, field=field, choices=Choices(choices))
    if kind == "string_pattern_mismatch" and field in pattern_rules:
        return DomainError(pattern_rules[field], field=field)
    return NotAccepted(field=field, english=f"{field}: {first['msg'].removeprefix('Value error, ')}")
