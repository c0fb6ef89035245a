"""Settings: the names of DESIGN.md, *_FILE secrets, one-line errors naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, load_settings
from bot.db import async_url, sync_url

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("FOLLOWUP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_it_has_working_defaults() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///followup.db"
    assert settings.telegram_api_url == "https://api.telegram.org/bot"
    assert settings.tick_seconds == 30
    assert settings.global_rate_per_second == 25
    assert settings.protocol_file.name == "nct04136106.yaml"


def test_it_names_the_variable_of_a_bad_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLLOWUP_TICK_SECONDS", "soon")
    with pytest.raises(SettingsError, match=r"^FOLLOWUP_TICK_SECONDS: .*integer"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FOLLOWUP_TELEGRAM_TOKEN", "changeme"),
        ("FOLLOWUP_DATABASE_URL", "mysql://localhost/db"),
        ("FOLLOWUP_TELEGRAM_API_URL", "api.telegram.org"),
        ("FOLLOWUP_PROTOCOL_FILE", "/nowhere/protocol.yaml"),
        ("FOLLOWUP_BOT_USERNAME", "no spaces allowed"),
    ],
)
def test_it_refuses_values_that_cannot_work(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"^{variable}: "):
        load_settings()


def test_it_reads_a_secret_from_a_file_and_never_shows_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    monkeypatch.setenv("FOLLOWUP_TELEGRAM_TOKEN_FILE", str(secret))
    settings = load_settings()
    assert settings.require_token() == TOKEN
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings.model_dump())


def test_it_names_an_unreadable_secret_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FOLLOWUP_TELEGRAM_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match=r"^FOLLOWUP_TELEGRAM_TOKEN_FILE: cannot read"):
        load_settings()


def test_it_reads_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("FOLLOWUP_TICK_SECONDS=5\n")
    assert load_settings().tick_seconds == 5


def test_it_says_which_variable_is_missing_for_the_token() -> None:
    with pytest.raises(SettingsError, match="FOLLOWUP_TELEGRAM_TOKEN"):
        Settings().require_token()


@pytest.mark.parametrize(
    ("given", "async_form", "sync_form"),
    [
        ("sqlite:///study.db", "sqlite+aiosqlite:///study.db", "sqlite+pysqlite:///study.db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgres://u@h:5433/db", "postgresql+psycopg://u@h:5433/db", "postgresql+psycopg://u@h:5433/db"),
    ],
)
def test_it_chooses_the_driver_for_plain_urls(given: str, async_form: str, sync_form: str) -> None:
    assert async_url(given) == async_form
    assert sync_url(given) == sync_form
