"""`followup demo --serve`: the simulated study, then the console on its data with a sign-in link per staff member."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.web.app import close_database

LINK = re.compile(r"^  PKU clinician +(.+): (http://127\.0\.0\.1:8099)(/sign-in/[A-Za-z0-9_-]+)$", re.M)


def test_it_serves_the_console_on_the_demo_with_sign_in_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    served: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda asgi, **options: served.update(app=asgi, **options))
    args = ["demo", "--dir", "demo", "--patients", "6", "--days", "45", "--seed", "3", "--serve", "--port", "8099"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "The study console of the demo is at http://127.0.0.1:8099 (Ctrl-C stops it). Sign in as:" in result.stdout
    found = LINK.search(result.stdout)
    assert found is not None, result.stdout
    assert (served["host"], served["port"], served["access_log"]) == ("127.0.0.1", 8099, False)

    async def visit() -> tuple[int, str]:
        transport = httpx.ASGITransport(app=served["app"])
        async with httpx.AsyncClient(transport=transport, base_url=found.group(2)) as client:
            await client.get(found.group(3), headers={"accept-language": "en"})
            board = await client.get("/")
        await close_database(served["app"].state.console)
        return board.status_code, board.text

    status, board = asyncio.run(visit())
    assert status == 200
    assert found.group(1) in board
    assert "PKU-001" in board
