"""Errors a user can act on. Their message is one line, safe to show (no patient answers)."""

from bot.i18n import checked_language


class DomainError(Exception):
    """A request the study's rules refuse; nothing was written."""


def language_or_error(language: str, *, field: str = "language") -> str:
    """One of the bot's languages (a compiled catalog); else the one-line refusal that names them."""
    try:
        return checked_language(language)
    except ValueError as error:
        raise DomainError(f"{field}: {error}") from None


class NotFound(DomainError):
    """The study ID, site code or record named does not exist."""
