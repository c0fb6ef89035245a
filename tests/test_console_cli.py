"""`followup web` and `followup staff sign-in-link`, driven as coordinators drive them."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, update
from typer.testing import CliRunner

from bot.cli import app
from bot.config import get_settings
from bot.db import sync_url
from bot.web.app import close_database
from models import Staff
from tests.console_fixtures import WEB_SECRET, WEB_URL

runner = CliRunner()


def followup(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def staff_id(cli_env: str) -> int:
    followup("sites", "add", "PKU", "--name", "PKU", "--timezone", "Asia/Shanghai", "--phone", "+86 10 8832 5555")
    code, out, _err = followup("staff", "add", "--site", "PKU", "--role", "coordinator", "--name", "Ms Wang")
    assert code == 0, out
    engine = create_engine(sync_url(cli_env))
    with engine.begin() as connection:
        found = connection.scalar(select(Staff.id))
        connection.execute(update(Staff).values(telegram_user_id=103))
    engine.dispose()
    assert found is not None
    return found


@pytest.fixture
def web_env(monkeypatch: pytest.MonkeyPatch, cli_env: str) -> str:
    monkeypatch.setenv("FOLLOWUP_WEB_URL", WEB_URL)
    monkeypatch.setenv("FOLLOWUP_WEB_SECRET", WEB_SECRET)
    get_settings.cache_clear()
    return cli_env


def test_it_prints_a_sign_in_link_that_signs_in_once(
    web_env: str, staff_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = followup("staff", "sign-in-link", str(staff_id))
    assert (code, err) == (0, "")
    found = re.fullmatch(r"https://console\.example\.org(/sign-in/[A-Za-z0-9_-]{32})\n", out)
    assert found is not None
    served: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda asgi, **options: served.update(app=asgi, **options))
    assert followup("web", "--port", "8099")[0] == 0
    assert (served["host"], served["port"], served["access_log"]) == ("127.0.0.1", 8099, False)

    async def visit() -> list[int]:
        transport = httpx.ASGITransport(app=served["app"])
        async with httpx.AsyncClient(transport=transport, base_url=WEB_URL) as client:
            statuses = [(await client.get(path)).status_code for path in (found.group(1), "/", found.group(1))]
        await close_database(served["app"].state.console)
        return statuses

    assert asyncio.run(visit()) == [200, 200, 400]


def test_it_refuses_a_link_for_an_unknown_or_unlinked_staff_member(web_env: str, staff_id: int) -> None:
    assert followup("staff", "sign-in-link", "999") == (1, "", "error: no staff member #999\n")
    engine = create_engine(sync_url(web_env))
    with engine.begin() as connection:
        connection.execute(update(Staff).values(telegram_user_id=None))
    engine.dispose()
    code, out, err = followup("staff", "sign-in-link", str(staff_id))
    assert (code, out) == (1, "")
    assert err == f"error: staff member #{staff_id} has not linked Telegram yet (send them their invite)\n"


@pytest.mark.parametrize(
    ("variables", "error"),
    [
        ({}, "error: FOLLOWUP_WEB_URL: not set (the console's address, e.g. https://study.example.org)\n"),
        (
            {"FOLLOWUP_WEB_URL": WEB_URL},
            "error: FOLLOWUP_WEB_SECRET: not set (32+ random characters: openssl rand -hex 32)\n",
        ),
        (
            {"FOLLOWUP_WEB_URL": WEB_URL, "FOLLOWUP_WEB_SECRET": "changethis-changethis-changethis-0123"},
            "error: FOLLOWUP_WEB_SECRET: a placeholder; use 32+ random characters\n",
        ),
        (
            {"FOLLOWUP_WEB_URL": WEB_URL, "FOLLOWUP_WEB_SECRET": "a" * 40},
            "error: FOLLOWUP_WEB_SECRET: a placeholder; use 32+ random characters\n",
        ),
        (
            {"FOLLOWUP_WEB_URL": WEB_URL, "FOLLOWUP_WEB_SECRET": "short"},
            "error: FOLLOWUP_WEB_SECRET: use 32 to 256 random characters (openssl rand -hex 32)\n",
        ),
        ({"FOLLOWUP_WEB_URL": "ftp://console"}, "error: FOLLOWUP_WEB_URL: String should match pattern"),
    ],
)
def test_it_refuses_to_serve_or_link_without_a_url_and_a_real_secret(
    staff_id: int, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], error: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    monkeypatch.setattr("uvicorn.run", lambda *_args, **_options: pytest.fail("served"))
    for command in (["web"], ["staff", "sign-in-link", str(staff_id)]):
        code, out, err = followup(*command)
        assert (code, out) == (1, "")
        assert err.startswith(error)
        assert err.count("\n") == 1


def test_it_reads_the_secret_from_a_file(
    web_env: str, staff_id: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    secret = tmp_path / "web_secret"
    secret.write_text(WEB_SECRET + "\n")
    monkeypatch.delenv("FOLLOWUP_WEB_SECRET")
    monkeypatch.setenv("FOLLOWUP_WEB_SECRET_FILE", str(secret))
    get_settings.cache_clear()
    assert get_settings().require_web() == (WEB_URL, WEB_SECRET)
