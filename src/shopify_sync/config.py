"""Settings: one frozen value read from the environment (and an optional ``.env``) at start-up.

Only entrypoints call :func:`load_settings`; everything below receives plain values.
A missing, malformed or placeholder value stops start-up with a :class:`ConfigError`
naming the variable and what it expects; secrets never appear in a repr or a message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from dotenv import dotenv_values
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from shopify_sync.errors import ConfigError
from shopify_sync.types import InitialSource, LocationId

DEFAULT_API_VERSION = "2026-10"
OLDEST_API_VERSION = "2025-10"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./shopify-sync.db"
DEFAULT_RECONCILE_INTERVAL_S = 300
DEFAULT_ENV_FILE = Path(".env")

_API_VERSION = re.compile(r"^(\d{4})-(01|04|07|10)$")
_LOCATION_GID = re.compile(r"^gid://shopify/Location/(\d+)$")
_STORE_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
_PLACEHOLDERS = re.compile(
    r"^(|changeme|change-me|change_me|secret|password|token|todo|xxx+|\.\.\.|<.*>|your[-_ ].*|"
    r"shpat_x+|shpss_x+|replace[-_ ]?me)$",
    re.IGNORECASE,
)


def _not_placeholder(value: SecretStr) -> SecretStr:
    if _PLACEHOLDERS.match(value.get_secret_value().strip()):
        raise ValueError("a real value, not a placeholder")
    return value


Secret = Annotated[SecretStr, AfterValidator(_not_placeholder)]


class Settings(BaseModel):
    """Everything the service needs, validated. Field aliases are the environment names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    shopify_store_domain: str = Field(alias="SHOPIFY_STORE_DOMAIN")
    shopify_api_version: str = Field(DEFAULT_API_VERSION, alias="SHOPIFY_API_VERSION")
    shopify_access_token: Secret = Field(alias="SHOPIFY_ACCESS_TOKEN")
    shopify_webhook_secret: Secret = Field(alias="SHOPIFY_WEBHOOK_SECRET")
    shopify_location_id: LocationId = Field(alias="SHOPIFY_LOCATION_ID")
    shopify_admin_url: str | None = Field(None, alias="SHOPIFY_ADMIN_URL")
    database_url: str = Field(DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    sync_api_token: Secret = Field(alias="SYNC_API_TOKEN")
    admin_password: Secret | None = Field(None, alias="ADMIN_PASSWORD")
    reconcile_interval_s: int = Field(
        DEFAULT_RECONCILE_INTERVAL_S, ge=5, alias="RECONCILE_INTERVAL_SECONDS"
    )
    pending_scan_interval_s: float = Field(2.0, gt=0, le=60, alias="PENDING_SCAN_INTERVAL_SECONDS")
    initial_source: InitialSource = Field("b2b", alias="INITIAL_SOURCE")
    sync_max_attempts: int = Field(8, ge=1, le=100, alias="SYNC_MAX_ATTEMPTS")
    shopify_max_attempts: int = Field(4, ge=1, le=20, alias="SHOPIFY_MAX_ATTEMPTS")
    shopify_outage_pause_s: float = Field(15.0, ge=0, le=300, alias="SHOPIFY_OUTAGE_PAUSE_SECONDS")
    sync_retry_base_s: float = Field(5.0, gt=0, le=3600, alias="SYNC_RETRY_BASE_SECONDS")
    webhook_events_retention_days: int = Field(
        7, ge=1, le=3650, alias="WEBHOOK_EVENTS_RETENTION_DAYS"
    )
    webhook_max_body_bytes: int = Field(1_048_576, ge=1024, alias="WEBHOOK_MAX_BODY_BYTES")
    auto_migrate: bool = Field(True, alias="AUTO_MIGRATE")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="LOG_LEVEL")

    @field_validator("shopify_store_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.strip().lower()
        if not _STORE_DOMAIN.match(value) or value.startswith("your-store."):
            raise ValueError("the shop's myshopify domain, e.g. my-shop.myshopify.com")
        return value

    @field_validator("shopify_api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _API_VERSION.match(value) or value < OLDEST_API_VERSION:
            raise ValueError(
                f"a Shopify API version YYYY-MM (quarterly) from {OLDEST_API_VERSION} on, "
                f"e.g. {DEFAULT_API_VERSION}"
            )
        return value

    @field_validator("shopify_location_id", mode="before")
    @classmethod
    def _location(cls, value: object) -> int:
        text = str(value).strip()
        if match := _LOCATION_GID.match(text):
            text = match.group(1)
        if not text.isdigit() or int(text) == 0:
            raise ValueError("a location id: a number or gid://shopify/Location/N")
        return int(text)

    @field_validator("shopify_admin_url")
    @classmethod
    def _admin_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+$", value):
            raise ValueError("a base URL such as http://127.0.0.1:8081 (no path)")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @property
    def admin_base_url(self) -> str:
        """The Admin API base URL: the override (e.g. the local simulator) or the shop itself."""
        return self.shopify_admin_url or f"https://{self.shopify_store_domain}"


def normalize_database_url(value: str) -> str:
    """Accept the usual URL spellings and pick the async driver for each database.

    Raises:
        ValueError: for a database other than SQLite or PostgreSQL.
    """
    value = value.strip()
    for prefix, driver in (
        ("sqlite+aiosqlite://", "sqlite+aiosqlite://"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql+asyncpg://", "postgresql+asyncpg://"),
        ("postgresql+psycopg://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if value.startswith(prefix):
            return driver + value[len(prefix) :]
    raise ValueError("a SQLite or PostgreSQL URL, e.g. sqlite:///./shopify-sync.db")


_ALIASES = {field.alias: name for name, field in Settings.model_fields.items() if field.alias}


def read_environment(environ: Mapping[str, str], env_file: Path | None) -> dict[str, str]:
    """The known variables from ``env_file`` (if it exists) overlaid by ``environ``."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(environ)
    return {key: value for key, value in values.items() if key in _ALIASES}


def load_settings(
    environ: Mapping[str, str], *, env_file: Path | None = DEFAULT_ENV_FILE
) -> Settings:
    """Validate the whole configuration, or raise :class:`ConfigError` for the first bad variable.

    Raises:
        ConfigError: names the variable and what it expects; never echoes a secret.
    """
    try:
        return Settings.model_validate(read_environment(environ, env_file))
    except ValidationError as exc:
        raise _config_error(exc) from None


def load_database_url(
    environ: Mapping[str, str], *, env_file: Path | None = DEFAULT_ENV_FILE
) -> str:
    """Only ``DATABASE_URL`` (for commands such as ``db upgrade`` that need nothing else).

    Raises:
        ConfigError: when the URL names an unsupported database.
    """
    raw = read_environment(environ, env_file).get("DATABASE_URL", DEFAULT_DATABASE_URL)
    try:
        return normalize_database_url(raw)
    except ValueError as exc:
        raise ConfigError("DATABASE_URL", str(exc)) from None


def _config_error(exc: ValidationError) -> ConfigError:
    error = exc.errors()[0]
    loc = error["loc"][0] if error["loc"] else "?"
    field = Settings.model_fields.get(str(loc))
    variable = field.alias if field is not None and field.alias else str(loc)
    if error["type"] == "missing":
        expected = "is required but not set"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        expected = "expected " + message[:1].lower() + message[1:]
    return ConfigError(variable, expected)
