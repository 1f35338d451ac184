"""Settings: one frozen value read from the environment (and an optional ``.env``) at start-up.

Only entrypoints call :func:`load_settings`; everything below receives plain values.
Each setting belongs to a :class:`Need` (the database, Shopify's Admin API, our location,
the sync policy, receiving webhooks, the HTTP service); a command loads the needs it uses and
requires only their settings. Every missing, malformed or placeholder value among them is
reported at once in one :class:`ConfigError`, one line per variable naming it and what it
expects; secrets never appear in a repr or a message.

To add a setting: a field whose alias is the environment name, annotated with the
:class:`Uses` of its need (``Uses(Need.X, required="what it is")`` when it has no default).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal, TypeVar

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
from pydantic_core import ErrorDetails
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from shopify_sync.domain.address import public_base_url
from shopify_sync.domain.allocation import Allocation, AllocationPolicy
from shopify_sync.errors import ConfigError
from shopify_sync.types import MAX_QUANTITY, InitialSource, LocationId

DEFAULT_API_VERSION = "2026-10"
OLDEST_API_VERSION = "2025-10"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./shopify-sync.db"
DEFAULT_RECONCILE_INTERVAL_S = 300
DEFAULT_WEBHOOK_CHECK_INTERVAL_S = 3600
DEFAULT_ENV_FILE = Path(".env")
DEFAULT_METRICS_NETWORKS = (ip_network("127.0.0.0/8"), ip_network("::1/128"))
"""Who may scrape ``/metrics`` without the API token: this host only."""

_API_VERSION = re.compile(r"^(\d{4})-(01|04|07|10)$")
_LOCATION_GID = re.compile(r"^gid://shopify/Location/(\d+)$")
_STORE_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
# The README's and .env examples' own stand-ins (shpat_..., <token>, your-token, changeme...).
_PLACEHOLDERS = re.compile(
    r"^(changeme|change-me|change_me|secret|password|token|todo|xxx+|<.*>|\[.*\]|\{.*\}|"
    r"your[-_ ].*|replace[-_ ]?me|(sh[a-z]{3}_)?(x+|\.\.\.|\u2026)|.*(\.\.\.|\u2026))$",
    re.IGNORECASE,
)
_T = TypeVar("_T")


class Need(StrEnum):
    """A part of the configuration; each command loads only the needs it uses."""

    DATABASE = "database"
    """``DATABASE_URL``, ``AUTO_MIGRATE``: every command that reads or writes our tables."""
    SHOPIFY = "shopify"
    """Shopify's Admin API: the shop, its access token, the API version, call limits."""
    LOCATION = "location"
    """``SHOPIFY_LOCATION_ID``: the location whose ``available`` we sync."""
    SYNC = "sync"
    """The sync policy: who wins first, attempts, retry delays, scan and reconcile periods."""
    WEBHOOKS = "webhooks"
    """Receiving Shopify's webhooks: the signing secret, the size cap, de-duplication."""
    SERVICE = "service"
    """The HTTP API and the admin page: ``SYNC_API_TOKEN``, ``ADMIN_PASSWORD``."""
    ADDRESS = "address"
    """``PUBLIC_URL``: where Shopify delivers our webhooks (optional)."""
    ALERTS = "alerts"
    """Where alerts go (a webhook, e-mail), how often conditions are checked, thresholds."""


EVERY_NEED: frozenset[Need] = frozenset(Need)


@dataclass(frozen=True, slots=True)
class Uses:
    """Field metadata: the need a setting belongs to and, when it has no default, what it is.

    Attributes:
        need: the setting is validated (and, when ``required``, demanded) only for commands
            that load this need; others ignore it, even when it is malformed.
        required: set for a setting without a default: what to put there, shown when it is
            missing or empty.
    """

    need: Need
    required: str | None = None


def _not_placeholder(value: SecretStr) -> SecretStr:
    if _PLACEHOLDERS.match(value.get_secret_value().strip()):
        raise ValueError("a real value, not a placeholder")
    return value


Secret = Annotated[SecretStr, AfterValidator(_not_placeholder)]


class Settings(BaseModel):
    """Everything the service needs, validated. Field aliases are the environment names.

    A setting of a need the command did not load is ``None`` when it has no default; code that
    needs it takes it with :func:`required`.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    shopify_store_domain: Annotated[
        str | None, Uses(Need.SHOPIFY, required="the shop, e.g. my-shop.myshopify.com")
    ] = Field(None, alias="SHOPIFY_STORE_DOMAIN")
    shopify_api_version: Annotated[str, Uses(Need.SHOPIFY)] = Field(
        DEFAULT_API_VERSION, alias="SHOPIFY_API_VERSION"
    )
    shopify_client_id: Annotated[str | None, Uses(Need.SHOPIFY)] = Field(
        None, alias="SHOPIFY_CLIENT_ID"
    )
    """A Dev Dashboard app's client ID (with ``SHOPIFY_CLIENT_SECRET``: the client credentials
    grant). Exactly one of this pair and ``SHOPIFY_ACCESS_TOKEN`` is set (see ``_credentials``)."""
    shopify_client_secret: Annotated[Secret | None, Uses(Need.SHOPIFY)] = Field(
        None, alias="SHOPIFY_CLIENT_SECRET"
    )
    shopify_access_token: Annotated[Secret | None, Uses(Need.SHOPIFY)] = Field(
        None, alias="SHOPIFY_ACCESS_TOKEN"
    )
    """The Admin API token of an app created in the Shopify admin before 2026."""
    shopify_webhook_secret: Annotated[Secret | None, Uses(Need.WEBHOOKS)] = Field(
        None, alias="SHOPIFY_WEBHOOK_SECRET"
    )
    """Defaults to ``SHOPIFY_CLIENT_SECRET``: a Dev Dashboard app signs webhooks with it."""
    shopify_webhook_secret_previous: Annotated[Secret | None, Uses(Need.WEBHOOKS)] = Field(
        None, alias="SHOPIFY_WEBHOOK_SECRET_PREVIOUS"
    )
    """The secret before a rotation: Shopify may keep signing with it for a while."""
    shopify_location_id: Annotated[
        LocationId | None,
        Uses(Need.LOCATION, required="the id of the location to sync; `shopify-sync locations` "
             "lists them"),
    ] = Field(None, alias="SHOPIFY_LOCATION_ID")  # fmt: skip
    shopify_admin_url: Annotated[str | None, Uses(Need.SHOPIFY)] = Field(
        None, alias="SHOPIFY_ADMIN_URL"
    )
    database_url: Annotated[str, Uses(Need.DATABASE)] = Field(
        DEFAULT_DATABASE_URL, alias="DATABASE_URL"
    )
    public_url: Annotated[str | None, Uses(Need.ADDRESS)] = Field(None, alias="PUBLIC_URL")
    """The service's public base URL, where Shopify delivers our webhooks."""
    webhook_check_interval_s: Annotated[int, Uses(Need.ADDRESS)] = Field(
        DEFAULT_WEBHOOK_CHECK_INTERVAL_S, ge=1, le=86_400, alias="WEBHOOK_CHECK_INTERVAL_SECONDS"
    )
    """How often ``serve`` checks (and repairs) our subscriptions when PUBLIC_URL is set."""
    sync_api_token: Annotated[
        Secret | None,
        Uses(Need.SERVICE, required="a bearer token of your choice for /sync/... and the admin "
             "page"),
    ] = Field(None, alias="SYNC_API_TOKEN")  # fmt: skip
    admin_password: Annotated[Secret | None, Uses(Need.SERVICE)] = Field(
        None, alias="ADMIN_PASSWORD"
    )
    admin_session_idle_s: Annotated[int, Uses(Need.SERVICE)] = Field(
        1800, ge=60, le=86_400, alias="ADMIN_SESSION_IDLE_SECONDS"
    )
    """An admin session unused this long ends (sign in again)."""
    reconcile_interval_s: Annotated[int, Uses(Need.SYNC)] = Field(
        DEFAULT_RECONCILE_INTERVAL_S, ge=5, alias="RECONCILE_INTERVAL_SECONDS"
    )
    pending_scan_interval_s: Annotated[float, Uses(Need.SYNC)] = Field(
        2.0, gt=0, le=60, alias="PENDING_SCAN_INTERVAL_SECONDS"
    )
    initial_source: Annotated[InitialSource, Uses(Need.SYNC)] = Field("b2b", alias="INITIAL_SOURCE")
    allocation_policy: Annotated[AllocationPolicy, Uses(Need.SYNC)] = Field(
        "split", alias="ALLOCATION_POLICY"
    )
    """The allocation policy written into a product's row at its first sync (see
    ``domain.allocation``); existing products keep theirs."""
    allocation_buffer: Annotated[int, Uses(Need.SYNC)] = Field(
        0, ge=0, le=MAX_QUANTITY, alias="ALLOCATION_BUFFER"
    )
    """Units kept off Shopify, for products at their first sync."""
    allocation_cap: Annotated[int | None, Uses(Need.SYNC)] = Field(
        None, ge=0, le=MAX_QUANTITY, alias="ALLOCATION_CAP"
    )
    """At most this many shown on Shopify (unset: no cap), for products at their first sync."""
    sync_max_attempts: Annotated[int, Uses(Need.SYNC)] = Field(
        8, ge=1, le=100, alias="SYNC_MAX_ATTEMPTS"
    )
    shopify_max_attempts: Annotated[int, Uses(Need.SHOPIFY)] = Field(
        4, ge=1, le=20, alias="SHOPIFY_MAX_ATTEMPTS"
    )
    shopify_outage_pause_s: Annotated[float, Uses(Need.SHOPIFY)] = Field(
        15.0, ge=0, le=300, alias="SHOPIFY_OUTAGE_PAUSE_SECONDS"
    )
    sync_retry_base_s: Annotated[float, Uses(Need.SYNC)] = Field(
        5.0, gt=0, le=3600, alias="SYNC_RETRY_BASE_SECONDS"
    )
    webhook_events_retention_days: Annotated[int, Uses(Need.WEBHOOKS)] = Field(
        7, ge=1, le=3650, alias="WEBHOOK_EVENTS_RETENTION_DAYS"
    )
    webhook_max_body_bytes: Annotated[int, Uses(Need.WEBHOOKS)] = Field(
        1_048_576, ge=1024, alias="WEBHOOK_MAX_BODY_BYTES"
    )
    auto_migrate: Annotated[bool, Uses(Need.DATABASE)] = Field(True, alias="AUTO_MIGRATE")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="LOG_LEVEL")
    shutdown_grace_s: Annotated[float, Uses(Need.SERVICE)] = Field(
        10.0, ge=0, le=600, alias="SHUTDOWN_GRACE_SECONDS"
    )
    metrics_enabled: Annotated[bool, Uses(Need.SERVICE)] = Field(True, alias="METRICS_ENABLED")
    history_retention_days: Annotated[int, Uses(Need.SERVICE)] = Field(
        14, ge=7, le=366, alias="HISTORY_RETENTION_DAYS"
    )
    alert_webhook_url: Annotated[Secret | None, Uses(Need.ALERTS)] = Field(
        None, alias="ALERT_WEBHOOK_URL"
    )
    alert_webhook_format: Annotated[Literal["slack", "json"], Uses(Need.ALERTS)] = Field(
        "slack", alias="ALERT_WEBHOOK_FORMAT"
    )
    alert_email_to: Annotated[str | None, Uses(Need.ALERTS)] = Field(None, alias="ALERT_EMAIL_TO")
    alert_email_from: Annotated[str | None, Uses(Need.ALERTS)] = Field(
        None, alias="ALERT_EMAIL_FROM"
    )
    smtp_host: Annotated[str | None, Uses(Need.ALERTS)] = Field(None, alias="SMTP_HOST")
    smtp_port: Annotated[int, Uses(Need.ALERTS)] = Field(587, ge=1, le=65535, alias="SMTP_PORT")
    smtp_username: Annotated[str | None, Uses(Need.ALERTS)] = Field(None, alias="SMTP_USERNAME")
    smtp_password: Annotated[Secret | None, Uses(Need.ALERTS)] = Field(None, alias="SMTP_PASSWORD")
    smtp_starttls: Annotated[bool, Uses(Need.ALERTS)] = Field(True, alias="SMTP_STARTTLS")
    alert_check_interval_s: Annotated[int, Uses(Need.ALERTS)] = Field(
        60, ge=5, le=60, alias="ALERT_CHECK_INTERVAL_SECONDS"
    )
    alert_parked_products: Annotated[int, Uses(Need.ALERTS)] = Field(
        1, ge=1, alias="ALERT_PARKED_PRODUCTS"
    )
    alert_error_minutes: Annotated[int, Uses(Need.ALERTS)] = Field(
        30, ge=1, alias="ALERT_ERROR_MINUTES"
    )
    alert_reconcile_missed_intervals: Annotated[int, Uses(Need.ALERTS)] = Field(
        3, ge=1, alias="ALERT_RECONCILE_MISSED_INTERVALS"
    )
    alert_drift_products: Annotated[int, Uses(Need.ALERTS)] = Field(
        50, ge=0, alias="ALERT_DRIFT_PRODUCTS"
    )
    alert_outage_minutes: Annotated[int, Uses(Need.ALERTS)] = Field(
        10, ge=1, alias="ALERT_OUTAGE_MINUTES"
    )
    metrics_allowed_networks: Annotated[
        tuple[IPv4Network | IPv6Network, ...], Uses(Need.SERVICE)
    ] = Field(DEFAULT_METRICS_NETWORKS, alias="METRICS_ALLOWED_NETWORKS")

    @field_validator("shopify_store_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if not _STORE_DOMAIN.match(value) or value.startswith("your-store."):
            raise ValueError(
                "the shop's myshopify domain, e.g. my-shop.myshopify.com (a local simulator's "
                "address goes in SHOPIFY_ADMIN_URL)"
            )
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
    def _location(cls, value: object) -> int | None:
        if value is None:
            return None
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

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return public_base_url(value) if value is not None and value.strip() else None

    @field_validator("alert_email_to")
    @classmethod
    def _recipients(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        for address in value.split(","):
            if not re.match(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$", address.strip()):
                raise ValueError(
                    f"comma-separated e-mail addresses ({address.strip()!r} is not one)"
                )
        return value

    @field_validator("alert_webhook_url")
    @classmethod
    def _alert_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value.get_secret_value()):
            raise ValueError("an http(s) URL, e.g. a Slack incoming webhook")
        return value

    @field_validator("metrics_allowed_networks", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        networks: list[IPv4Network | IPv6Network] = []
        for part in value.replace(" ", ",").split(","):
            if not part:
                continue
            try:
                networks.append(ip_network(part, strict=False))
            except ValueError:
                raise ValueError(
                    f"comma-separated networks such as 10.0.0.0/8,127.0.0.1 ({part!r} is not one)"
                ) from None
        return tuple(networks)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @property
    def default_allocation(self) -> Allocation:
        """The allocation of ``ALLOCATION_POLICY``, ``ALLOCATION_BUFFER`` and ``ALLOCATION_CAP``,
        for products at their first sync."""
        return Allocation(self.allocation_policy, self.allocation_buffer, self.allocation_cap)

    @property
    def uses_client_credentials(self) -> bool:
        """True for a Dev Dashboard app (client ID and secret), False for a static token."""
        return self.shopify_client_id is not None and self.shopify_client_secret is not None

    @property
    def webhook_secrets(self) -> tuple[SecretStr, SecretStr | None]:
        """The key webhooks are verified with (``SHOPIFY_WEBHOOK_SECRET``, else the client
        secret) and the previous one accepted during a rotation.

        Raises:
            ConfigError: neither secret is set (the command did not load ``Need.WEBHOOKS``).
        """
        current = self.shopify_webhook_secret or self.shopify_client_secret
        return required(current, "SHOPIFY_WEBHOOK_SECRET"), self.shopify_webhook_secret_previous

    @property
    def admin_base_url(self) -> str:
        """The Admin API base URL: the override (e.g. the local simulator) or the shop itself.

        Raises:
            ConfigError: neither is set (the command did not load ``Need.SHOPIFY``).
        """
        if self.shopify_admin_url:
            return self.shopify_admin_url
        return f"https://{required(self.shopify_store_domain, 'SHOPIFY_STORE_DOMAIN')}"


def required(value: _T | None, variable: str) -> _T:
    """``value``, a setting some code cannot do without.

    Raises:
        ConfigError: it is unset, because the command did not load its need.
    """
    if value is None:
        raise ConfigError(variable, "is required but not set")
    return value


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
            url = driver + value[len(prefix) :]
            try:
                make_url(url).port  # noqa: B018  # parses the URL; raises on a bad port
            except (ArgumentError, ValueError):
                raise ValueError(
                    "a URL such as postgresql://user:password@host:5432/database "
                    "(special characters in the password percent-encoded)"
                ) from None
            return url
    raise ValueError("a SQLite or PostgreSQL URL, e.g. sqlite:///./shopify-sync.db")


_ALIASES = {field.alias: name for name, field in Settings.model_fields.items() if field.alias}


def _uses(variable: str) -> Uses | None:
    field = Settings.model_fields[_ALIASES[variable]]
    return next((m for m in field.metadata if isinstance(m, Uses)), None)


def read_environment(environ: Mapping[str, str], env_file: Path | None) -> dict[str, str]:
    """The known variables from ``env_file`` (if it exists) overlaid by ``environ``."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(environ)
    return {key: value for key, value in values.items() if key in _ALIASES}


def load_settings(
    environ: Mapping[str, str],
    *,
    needs: Collection[Need] = EVERY_NEED,
    env_file: Path | None = DEFAULT_ENV_FILE,
) -> Settings:
    """Validate the settings of ``needs`` (every one by default) and return them all.

    A setting of another need is taken when it is valid and ignored otherwise; an empty
    value counts as unset.

    Raises:
        ConfigError: lists every missing, malformed or placeholder variable of ``needs``,
            each with what it expects; never echoes a secret.
    """
    raw = read_environment(environ, env_file)
    empty = {key for key, value in raw.items() if not value.strip()}
    values = {key: value for key, value in raw.items() if key not in empty}

    def wanted(variable: str) -> bool:
        uses = _uses(variable)
        return uses is None or uses.need in needs

    problems: dict[str, str] = {}
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        bad = {_variable(error): _expected(error) for error in exc.errors()}
        problems = {variable: text for variable, text in bad.items() if wanted(variable)}
        settings = Settings.model_validate({k: v for k, v in values.items() if k not in bad})
    for variable in _ALIASES:
        uses = _uses(variable)
        if (
            uses is not None
            and uses.required
            and uses.need in needs
            and variable not in values
            and variable not in problems
        ):
            state = "is empty" if variable in empty else "is required but not set"
            problems[variable] = f"{state}: {uses.required}"
    problems.update(_credential_problems(values, needs, problems, empty))
    if problems:
        order = list(_ALIASES)
        found = sorted(problems.items(), key=lambda item: order.index(item[0]))
        raise ConfigError(*found[0], *found[1:])
    return settings


_CLIENT_ID = "SHOPIFY_CLIENT_ID"
_CLIENT_SECRET = "SHOPIFY_CLIENT_SECRET"
_ACCESS_TOKEN = "SHOPIFY_ACCESS_TOKEN"
_BOTH_KINDS = (
    "set SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET (an app from Shopify's Dev Dashboard) "
    "or SHOPIFY_ACCESS_TOKEN (an app created in the Shopify admin before 2026)"
)


def _credential_problems(
    values: Mapping[str, str],
    needs: Collection[Need],
    known: Mapping[str, str],
    empty: Collection[str],
) -> dict[str, str]:
    """Exactly one kind of Shopify credentials, and a webhook secret from one of two places."""
    problems: dict[str, str] = {}
    given = {name for name in (_CLIENT_ID, _CLIENT_SECRET, _ACCESS_TOKEN) if name in values}
    if Need.SHOPIFY in needs and not given & set(known):
        if not given:
            state = "is empty" if _ACCESS_TOKEN in empty else "no Shopify credentials"
            problems[_ACCESS_TOKEN] = f"{state}: {_BOTH_KINDS}"
        elif _ACCESS_TOKEN in given and given & {_CLIENT_ID, _CLIENT_SECRET}:
            problems[_ACCESS_TOKEN] = f"two kinds of Shopify credentials: {_BOTH_KINDS}, not both"
        elif given == {_CLIENT_ID}:
            problems[_CLIENT_SECRET] = "is required with SHOPIFY_CLIENT_ID: the app's client secret"
        elif given == {_CLIENT_SECRET}:
            problems[_CLIENT_ID] = "is required with SHOPIFY_CLIENT_SECRET: the app's client ID"
    if (
        Need.WEBHOOKS in needs
        and "SHOPIFY_WEBHOOK_SECRET" not in values
        and _CLIENT_SECRET not in values
        and "SHOPIFY_WEBHOOK_SECRET" not in known
    ):
        problems["SHOPIFY_WEBHOOK_SECRET"] = (
            "is required but not set: the app's client secret, which signs Shopify's webhooks "
            "(defaults to SHOPIFY_CLIENT_SECRET when that is set)"
        )
    return problems


def load_database_url(
    environ: Mapping[str, str], *, env_file: Path | None = DEFAULT_ENV_FILE
) -> str:
    """Only ``DATABASE_URL`` (for commands such as ``db upgrade`` that need nothing else).

    Raises:
        ConfigError: when the URL names an unsupported database.
    """
    return load_settings(environ, needs={Need.DATABASE}, env_file=env_file).database_url


def _variable(error: ErrorDetails) -> str:
    loc = str(error["loc"][0]) if error["loc"] else "?"
    field = Settings.model_fields.get(loc)
    return field.alias if field is not None and field.alias else loc


def _expected(error: ErrorDetails) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    return "expected " + message[:1].lower() + message[1:]
