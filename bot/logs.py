"""Logging that never carries patient data or the bot token."""

from __future__ import annotations

import logging
import traceback

log = logging.getLogger("bot")


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    for name in ("httpx", "httpcore", "telegram.request", "apscheduler.executors.default"):
        logging.getLogger(name).setLevel(logging.WARNING)


def log_failure(what: str, error: BaseException | None) -> None:
    """The error's type and where it happened. Its message is left out on purpose: validation and database
    errors quote their input, which may be a patient's answers."""
    frames = "".join(traceback.format_tb(error.__traceback__)) if error else ""
    log.error("%s failed: %s\n%s", what, type(error).__name__, frames)
