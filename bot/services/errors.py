"""Errors a user can act on. Their message is one line, safe to show (no patient answers).

A message is an English msgid with named placeholders and their values, `DomainError(N_("onset: {onset} is in
the future"), onset=day)`: the CLI prints it in English (`str`), the console and Telegram in the reader's
language (`translated`). A message without values is shown as it is when it has no translation. A value may
itself be a DomainError or Choices, translated with the message: "line {line}: {problem}".
"""

from __future__ import annotations

from bot.i18n import N_, Gettext, checked_language


class DomainError(Exception):
    """A request the study's rules refuse; nothing was written."""

    def __init__(self, msgid: str, **values: object) -> None:
        super().__init__(msgid.format(**values) if values else msgid)
        self.msgid, self.values = msgid, values

    def translated(self, _: Gettext) -> str:
        if not self.values:
            return _(self.msgid)
        values = {
            name: value.translated(_) if isinstance(value, DomainError | Choices) else value
            for name, value in self.values.items()
        }
        return _(self.msgid).format(**values)


class InvalidValue(DomainError, ValueError):
    """A field's value refused by a pydantic validator; `bot.services.form_errors` shows it in the reader's words."""


ALTERNATIVES = N_("{choices} or {last}")


class Choices(tuple[str, ...]):
    """The values a field allows: "'il2' or 'control'" in English (as pydantic words it), translated on a page."""

    def __str__(self) -> str:
        return self._joined(ALTERNATIVES)

    def translated(self, _: Gettext) -> str:
        return self._joined(_(ALTERNATIVES))

    def _joined(self, pattern: str) -> str:
        quoted = [f"'{choice}'" for choice in self]
        if len(quoted) < 2:
            return "".join(quoted)
        return pattern.format(choices=", ".join(quoted[:-1]), last=quoted[-1])


def language_or_error(language: str, *, field: str = "language") -> str:
    """One of the bot's languages (a compiled catalog); else the one-line refusal that names them."""
    try:
        return checked_language(language)
    except ValueError as error:
        raise DomainError(f"{field}: {error}") from None


class NotFound(DomainError):
    """The study ID, site code or record named does not exist."""
