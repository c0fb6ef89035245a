"""Errors a user can act on. Their message is one line, safe to show (no patient answers)."""


class DomainError(Exception):
    """A request the study's rules refuse; nothing was written."""


class NotFound(DomainError):
    """The study ID, site code or record named does not exist."""
