"""Errors a user can act on. Their message is one line, safe to show (no patient answers).

A message is an English msgid with named placeholders and their values, `DomainError(N_("onset: {onset} is in
the future"), onset=day)`: the CLI prints it in English (`str`), the console and Telegram in the reader's
language (`translated`). A message without values is shown as it is when it has no translation.
"""

from __future__ import annotations

from bot.i18n import Gettext, checked_language


class DomainError(Exception):
    """A request the study's rules refuse; nothing was written."""

    def __init__(self, msgid: str, **values: object) -> None:
        super().__init__(msgid.format(**values) if values else msgid)
        self.msgid, self.values = msgid, values

    def translated(self, _: Gettext) -> str:
        return _(self.msgid).format(**self.values) if self.values else _(self.msgid)


def language_or_error(language: str, *, field: str = "language") -> str:
    """One of the bot's languages (a compiled catalog); else the one-line refusal that names them."""
    try:
        return checked_language(language)
    except ValueError as error:
        raise DomainError(f"{field}: {error}") from None


class NotFound(DomainError):
    """The study ID, site code or record named does not exist."""
