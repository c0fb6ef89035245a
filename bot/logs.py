"""Logging that never carries patient data or secrets.

python-telegram-bot logs Bot API URLs (they contain the token) and, at DEBUG, every call's parameters (message
text); httpx logs request URLs; aiosqlite and SQLAlchemy log SQL parameters (answers). Those loggers stay at INFO
or above whatever the level, and a filter on the handler replaces any configured secret still reaching output.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterable
from typing import TextIO

log = logging.getLogger("bot")
CHATTY = {
    "telegram": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "apscheduler": logging.INFO,
    "aiosqlite": logging.INFO,
    "sqlalchemy": logging.WARNING,
    "alembic": logging.WARNING,  # the schema check's "Context impl SQLiteImpl." at every start
}


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self._secrets:
            message = message.replace(secret, "<redacted>")
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, "<redacted>")
        record.msg, record.args = message, None
        return True


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (it may be replaced, e.g. by a test runner)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        return


def configure_logging(level: str = "INFO", *, secrets: Iterable[str] = ()) -> None:
    """Our handler on the root logger (replacing one we installed before, leaving any other alone)."""
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [existing for existing in root.handlers if not isinstance(existing, StderrHandler)]
    root.addHandler(handler)
    root.setLevel(level)
    for name, floor in CHATTY.items():
        logging.getLogger(name).setLevel(max(floor, logging.getLevelName(level)))


def log_failure(what: str, error: BaseException | None) -> None:
    """The error's type and where it happened. Its message is left out on purpose: validation and database
    errors quote their input, which may be a patient's answers."""
    frames = "".join(traceback.format_tb(error.__traceback__)) if error else ""
    log.error("%s failed: %s\n%s", what, type(error).__name__, frames)
