"""Telegram unreachable or refusing: `followup run` says so in one line per attempt and keeps trying with
backoff; `followup tick` says so in one line and exits 1. No traceback, no token."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.config import get_settings
from bot.simulator.bot_api import BotApiStub

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi"
ATTEMPT = re.compile(
    r"^\S+ \S+ WARNING bot: cannot reach Telegram at http://127\.0\.0\.1:\d+/bot: NetworkError: [^\n]+ "
    r"\(attempt (\d+)\); trying again in ([\d.]+) s$"
)


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_it_ends_a_tick_with_one_line_when_telegram_is_unreachable(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    monkeypatch.setenv("FOLLOWUP_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("FOLLOWUP_TELEGRAM_API_URL", f"http://127.0.0.1:{closed_port}/bot")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["tick"])
    assert result.exit_code == 1
    assert re.fullmatch(
        rf"error: cannot reach Telegram at http://127\.0\.0\.1:{closed_port}/bot: NetworkError: [^\n]+\n", result.stderr
    ), result.stderr
    assert TOKEN.split(":")[1] not in result.stderr


def test_it_keeps_trying_to_reach_telegram_at_start_one_line_per_attempt(
    database_url: str, closed_port: int, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "FOLLOWUP_DATABASE_URL": database_url,
        "FOLLOWUP_TELEGRAM_TOKEN": TOKEN,
        "FOLLOWUP_TELEGRAM_API_URL": f"http://127.0.0.1:{closed_port}/bot",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while len(lines) < 3 and time.monotonic() < deadline and (line := process.stdout.readline()):
            lines.append(line.rstrip("\n"))
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, rest
    attempts = [ATTEMPT.match(line) for line in [*lines, *rest.splitlines()]]
    assert all(attempts), [*lines, rest]
    assert [(match.group(1), match.group(2)) for match in attempts if match][:3] == [
        ("1", "0.5"),
        ("2", "1"),
        ("3", "2"),
    ]
    assert TOKEN.split(":")[1] not in "".join(lines) + rest


def test_it_refuses_to_run_with_a_token_telegram_does_not_know(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, stub_in_thread: BotApiStub
) -> None:
    monkeypatch.setenv("FOLLOWUP_TELEGRAM_TOKEN", TOKEN)  # not the stub's token: it answers 404, as Telegram does
    monkeypatch.setenv("FOLLOWUP_TELEGRAM_API_URL", stub_in_thread.base_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: Telegram refused the bot at {stub_in_thread.base_url}: "
        "InvalidToken: The token `<redacted>` was rejected by the server.\n"
    )
