"""Settings: one value, read once from the environment or `.env` (prefix FOLLOWUP_).

Every secret may also be given as `FOLLOWUP_<NAME>_FILE`, a path whose content is the value (Docker and
systemd credentials). A bad value stops the program at start with one line naming the variable.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "FOLLOWUP_"
SHIPPED_PROTOCOL = Path(__file__).parent / "protocols" / "nct04136106.yaml"
FILE_SECRETS = ("telegram_token", "webhook_secret", "database_url", "web_secret")
_TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,}$")
_PLACEHOLDER_WORDS = ("changethis", "changeme", "change-me", "change_me", "placeholder", "example", "secret", "xxxx")


class SettingsError(Exception):
    """A configuration value was refused; the message names the variable."""


class _FileSecretsSource(PydanticBaseSettingsSource):
    """Reads `FOLLOWUP_<NAME>_FILE` for the secret fields."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in FILE_SECRETS:
            variable = f"{ENV_PREFIX}{name.upper()}_FILE"
            path = os.environ.get(variable)
            if not path:
                continue
            try:
                values[name] = Path(path).read_text(encoding="utf-8").strip()
            except OSError as error:
                raise SettingsError(f"{variable}: cannot read {path}: {error.strerror}") from None
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite:///followup.db"
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    protocol_file: Path = SHIPPED_PROTOCOL
    tick_seconds: int = Field(default=30, ge=1, le=3600)
    bot_username: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
    global_rate_per_second: float = Field(default=25.0, gt=0, le=1000)
    webhook_url: str | None = Field(default=None, pattern=r"^https://")
    webhook_secret: SecretStr | None = Field(default=None, min_length=16, max_length=256)
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    web_url: str | None = Field(default=None, pattern=r"^https?://[^/?#\s]+/?$")  # an origin: the console serves at /
    web_secret: SecretStr | None = None  # checked by require_web

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileSecretsSource(settings_cls), dotenv_settings)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("only sqlite:///PATH and postgresql://... URLs are supported")
        return value

    @field_validator("telegram_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TOKEN_PATTERN.match(value.get_secret_value()):
            raise ValueError("does not look like a bot token from @BotFather (digits:letters)")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("protocol_file")
    @classmethod
    def _protocol_exists(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    def require_token(self) -> str:
        if self.telegram_token is None:
            raise SettingsError(f"{ENV_PREFIX}TELEGRAM_TOKEN: not set (get one from @BotFather)")
        return self.telegram_token.get_secret_value()

    def require_web(self) -> tuple[str, str]:
        """The console's public URL (no trailing slash) and its signing secret; refused when missing or a
        placeholder (the demo passes its own random secret)."""
        if self.web_url is None:
            raise SettingsError(f"{ENV_PREFIX}WEB_URL: not set (the console's address, e.g. https://study.example.org)")
        if self.web_secret is None:
            raise SettingsError(f"{ENV_PREFIX}WEB_SECRET: not set (32+ random characters: openssl rand -hex 32)")
        secret = self.web_secret.get_secret_value()
        if not 32 <= len(secret) <= 256:
            raise SettingsError(f"{ENV_PREFIX}WEB_SECRET: use 32 to 256 random characters (openssl rand -hex 32)")
        if len(set(secret)) < 8 or any(word in secret.lower() for word in _PLACEHOLDER_WORDS):
            raise SettingsError(f"{ENV_PREFIX}WEB_SECRET: a placeholder; use 32+ random characters")
        return self.web_url.rstrip("/"), secret


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning a validation error into one line that names the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        raise SettingsError(f"{ENV_PREFIX}{field.upper()}: {first['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
