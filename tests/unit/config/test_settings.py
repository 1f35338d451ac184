"""Settings: validated at start-up, one line per bad variable, secrets never shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shopify_sync.config import Need, load_database_url, load_settings, required
from shopify_sync.errors import ConfigError

VALID = {
    "SHOPIFY_STORE_DOMAIN": "my-shop.myshopify.com",
    "SHOPIFY_ACCESS_TOKEN": "shpat_0123456789abcdef",
    "SHOPIFY_WEBHOOK_SECRET": "whsec_0123456789",
    "SHOPIFY_LOCATION_ID": "124656943",
    "SYNC_API_TOKEN": "sync-token-0123",
}


def test_defaults() -> None:
    """Unset optional variables take the documented defaults."""
    settings = load_settings(VALID, env_file=None)

    assert (
        settings.shopify_api_version,
        settings.database_url,
        settings.reconcile_interval_s,
        settings.initial_source,
        settings.admin_base_url,
    ) == (
        "2026-10",
        "sqlite+aiosqlite:///./shopify-sync.db",
        300,
        "b2b",
        "https://my-shop.myshopify.com",
    )


def test_location_gid_and_admin_url_override() -> None:
    """A location GID is accepted, and SHOPIFY_ADMIN_URL points the client elsewhere."""
    settings = load_settings(
        {
            **VALID,
            "SHOPIFY_LOCATION_ID": "gid://shopify/Location/77",
            "SHOPIFY_ADMIN_URL": "http://127.0.0.1:8081/",
        },
        env_file=None,
    )

    assert (settings.shopify_location_id, settings.admin_base_url) == (77, "http://127.0.0.1:8081")


def test_public_url_is_optional_and_normalized() -> None:
    """PUBLIC_URL is unset by default and loses its surrounding blanks and trailing slash."""
    unset = load_settings(VALID, env_file=None)
    given = load_settings({**VALID, "PUBLIC_URL": " https://sync.example.com/ "}, env_file=None)

    assert unset.public_url is None
    assert given.public_url == "https://sync.example.com"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SHOPIFY_LOCATION_ID", "abc", "a number or gid://shopify/Location/N"),
        ("SHOPIFY_API_VERSION", "2024-10", "from 2025-10 on"),
        ("SHOPIFY_API_VERSION", "2026-02", "quarterly"),
        ("SHOPIFY_STORE_DOMAIN", "your-store.myshopify.com", "myshopify domain"),
        ("SHOPIFY_ACCESS_TOKEN", "changeme", "not a placeholder"),
        ("SHOPIFY_WEBHOOK_SECRET", "<secret>", "not a placeholder"),
        ("RECONCILE_INTERVAL_SECONDS", "soon", "valid integer"),
        ("DATABASE_URL", "mysql://x/y", "SQLite or PostgreSQL"),
        ("SHOPIFY_ADMIN_URL", "ftp://x", "base URL"),
        ("INITIAL_SOURCE", "erp", "'b2b' or 'shopify'"),
        ("PUBLIC_URL", "sync.example.com", "public base URL"),
        ("PUBLIC_URL", "http://sync.example.com", "https only"),
        ("ALERT_CHECK_INTERVAL_SECONDS", "300", "less than or equal to 60"),
        ("HISTORY_RETENTION_DAYS", "3", "greater than or equal to 7"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, expected: str) -> None:
    """A malformed or placeholder value is refused with the variable's name and what it expects."""
    with pytest.raises(ConfigError) as caught:
        load_settings({**VALID, variable: value}, env_file=None)

    assert caught.value.variable == variable
    assert expected in str(caught.value)


def test_missing_required_variable() -> None:
    """A missing required variable is named."""
    env = {k: v for k, v in VALID.items() if k != "SYNC_API_TOKEN"}

    with pytest.raises(ConfigError, match="SYNC_API_TOKEN: is required"):
        load_settings(env, env_file=None)


def test_secrets_never_appear() -> None:
    """Neither the repr nor an error message shows a secret."""
    settings = load_settings(VALID, env_file=None)
    with pytest.raises(ConfigError) as caught:
        load_settings({**VALID, "SHOPIFY_ACCESS_TOKEN": "xxx"}, env_file=None)

    shown = repr(settings) + str(settings) + str(caught.value)
    assert all(VALID[k] not in shown for k in ("SHOPIFY_ACCESS_TOKEN", "SHOPIFY_WEBHOOK_SECRET"))
    assert "xxx" not in str(caught.value)


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    """Values come from .env, overridden by the process environment."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        "\n".join(f"{k}={v}" for k, v in VALID.items()) + "\nRECONCILE_INTERVAL_SECONDS=60\n"
    )

    settings = load_settings({"RECONCILE_INTERVAL_SECONDS": "90"}, env_file=env_file)

    assert (settings.shopify_location_id, settings.reconcile_interval_s) == (124656943, 90)


def test_database_url_spellings() -> None:
    """Plain sqlite:// and postgres:// URLs get the async drivers."""
    assert load_database_url({"DATABASE_URL": "sqlite:///x.db"}, env_file=None) == (
        "sqlite+aiosqlite:///x.db"
    )
    assert load_database_url({"DATABASE_URL": "postgres://u@h/db"}, env_file=None) == (
        "postgresql+asyncpg://u@h/db"
    )
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_database_url({"DATABASE_URL": "oracle://x"}, env_file=None)


def test_bad_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    """`serve` with SHOPIFY_LOCATION_ID=abc prints one line naming it, exit 2, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "shopify_sync", "serve"],
        env={**VALID, "SHOPIFY_LOCATION_ID": "abc", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "shopify-sync: configuration error: SHOPIFY_LOCATION_ID: expected a location id: "
        "a number or gid://shopify/Location/N"
    ]
    assert "Traceback" not in result.stderr + result.stdout


def test_every_missing_variable_is_listed_at_once() -> None:
    """With nothing set, one error names every required variable, one line each."""
    with pytest.raises(ConfigError) as caught:
        load_settings({}, env_file=None)

    assert [variable for variable, _ in caught.value.problems] == [
        "SHOPIFY_STORE_DOMAIN",
        "SHOPIFY_ACCESS_TOKEN",
        "SHOPIFY_WEBHOOK_SECRET",
        "SHOPIFY_LOCATION_ID",
        "SYNC_API_TOKEN",
    ]
    assert str(caught.value).splitlines()[0] == "5 settings to fix:"
    assert "  SHOPIFY_LOCATION_ID: is required but not set: the id of the location" in str(
        caught.value
    )


def test_missing_and_bad_values_are_reported_together() -> None:
    """A missing variable and a malformed one are both reported by one error."""
    env = {**VALID, "SHOPIFY_API_VERSION": "2026-02", "RECONCILE_INTERVAL_SECONDS": "1"}
    del env["SHOPIFY_ACCESS_TOKEN"]

    with pytest.raises(ConfigError) as caught:
        load_settings(env, env_file=None)

    assert [variable for variable, _ in caught.value.problems] == [
        "SHOPIFY_API_VERSION",
        "SHOPIFY_ACCESS_TOKEN",
        "RECONCILE_INTERVAL_SECONDS",
    ]


def test_a_command_requires_only_the_settings_of_its_needs() -> None:
    """Listing locations needs neither SHOPIFY_LOCATION_ID nor SYNC_API_TOKEN nor the secret."""
    env = {k: VALID[k] for k in ("SHOPIFY_STORE_DOMAIN", "SHOPIFY_ACCESS_TOKEN")}

    settings = load_settings(env, needs={Need.SHOPIFY}, env_file=None)

    assert (settings.admin_base_url, settings.shopify_location_id, settings.sync_api_token) == (
        "https://my-shop.myshopify.com",
        None,
        None,
    )


def test_database_alone_needs_nothing_and_ignores_bad_values_of_other_needs() -> None:
    """`db upgrade` loads only DATABASE_URL; a malformed Shopify setting does not stop it."""
    env = {"DATABASE_URL": "postgres://u@h/db", "SHOPIFY_LOCATION_ID": "abc", "LOG_LEVEL": "ERROR"}

    settings = load_settings(env, needs={Need.DATABASE}, env_file=None)

    assert (settings.database_url, settings.shopify_location_id, settings.log_level) == (
        "postgresql+asyncpg://u@h/db",
        None,
        "ERROR",
    )


def test_a_valid_setting_of_another_need_is_kept() -> None:
    """`locations` marks the configured location: a valid value outside the needs is kept."""
    settings = load_settings(VALID, needs={Need.SHOPIFY}, env_file=None)

    assert settings.shopify_location_id == 124656943


def test_an_unloaded_setting_is_required_where_it_is_used() -> None:
    """Code that needs a setting the command did not load gets a ConfigError naming it."""
    settings = load_settings({}, needs={Need.DATABASE}, env_file=None)

    with pytest.raises(ConfigError, match="SHOPIFY_STORE_DOMAIN: is required"):
        _ = settings.admin_base_url
    with pytest.raises(ConfigError, match="SYNC_API_TOKEN"):
        required(settings.sync_api_token, "SYNC_API_TOKEN")


@pytest.mark.parametrize("value", ["shpat_...", "shpat_…", "shpss_xxxx", "<your token>", "abc..."])
def test_readme_placeholders_are_refused(value: str) -> None:
    """The README's own `shpat_...` and similar stand-ins are refused as a token."""
    with pytest.raises(ConfigError) as caught:
        load_settings({**VALID, "SHOPIFY_ACCESS_TOKEN": value}, env_file=None)

    assert caught.value.problems == (
        ("SHOPIFY_ACCESS_TOKEN", "expected a real value, not a placeholder"),
    )


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_value_is_called_empty(value: str) -> None:
    """An empty required variable is reported as empty, not as a placeholder."""
    with pytest.raises(ConfigError) as caught:
        load_settings({**VALID, "SHOPIFY_ACCESS_TOKEN": value}, env_file=None)

    assert caught.value.problems == (
        (
            "SHOPIFY_ACCESS_TOKEN",
            "is empty: set SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET (an app from Shopify's "
            "Dev Dashboard) or SHOPIFY_ACCESS_TOKEN (an app created in the Shopify admin "
            "before 2026)",
        ),
    )


APP = {
    k: v for k, v in VALID.items() if k not in ("SHOPIFY_ACCESS_TOKEN", "SHOPIFY_WEBHOOK_SECRET")
}
APP |= {"SHOPIFY_CLIENT_ID": "0123456789abcdef", "SHOPIFY_CLIENT_SECRET": "shpss_0123456789"}


def test_client_credentials_alone_suffice_and_sign_webhooks() -> None:
    """A Dev Dashboard app's ID and secret are the credentials; the secret verifies webhooks."""
    settings = load_settings(APP, env_file=None)
    current, previous = settings.webhook_secrets

    assert settings.uses_client_credentials
    assert current.get_secret_value() == "shpss_0123456789"
    assert previous is None


def test_an_explicit_webhook_secret_and_a_previous_one() -> None:
    """SHOPIFY_WEBHOOK_SECRET wins over the client secret; the previous secret is kept too."""
    env = {
        **APP,
        "SHOPIFY_WEBHOOK_SECRET": "whsec_new_0123",
        "SHOPIFY_WEBHOOK_SECRET_PREVIOUS": "whsec_old_0123",
    }

    current, previous = load_settings(env, env_file=None).webhook_secrets

    assert (current.get_secret_value(), previous and previous.get_secret_value()) == (
        "whsec_new_0123",
        "whsec_old_0123",
    )


@pytest.mark.parametrize(
    ("change", "variable", "expected"),
    [
        ({"SHOPIFY_ACCESS_TOKEN": "shpat_0123456789abcdef"}, "SHOPIFY_ACCESS_TOKEN", "not both"),
        (
            {"SHOPIFY_CLIENT_SECRET": None},
            "SHOPIFY_CLIENT_SECRET",
            "required with SHOPIFY_CLIENT_ID",
        ),
        ({"SHOPIFY_CLIENT_ID": None}, "SHOPIFY_CLIENT_ID", "required with SHOPIFY_CLIENT_SECRET"),
        (
            {"SHOPIFY_CLIENT_ID": None, "SHOPIFY_CLIENT_SECRET": None},
            "SHOPIFY_ACCESS_TOKEN",
            "no Shopify credentials",
        ),
    ],
)
def test_refused_combinations_of_credentials(
    change: dict[str, str | None], variable: str, expected: str
) -> None:
    """Both kinds, half a pair or none at all is one problem naming the variables to set."""
    env = {**APP, "SHOPIFY_WEBHOOK_SECRET": "whsec_0123456789"}
    env = {k: v for k, v in {**env, **change}.items() if v is not None}

    with pytest.raises(ConfigError) as caught:
        load_settings(env, env_file=None)

    assert [name for name, _ in caught.value.problems] == [variable]
    assert expected in caught.value.expected


def test_webhooks_need_a_secret_from_one_of_two_places() -> None:
    """With a static token and no webhook secret, SHOPIFY_WEBHOOK_SECRET is named as missing."""
    env = {k: v for k, v in VALID.items() if k != "SHOPIFY_WEBHOOK_SECRET"}

    with pytest.raises(ConfigError) as caught:
        load_settings(env, env_file=None)

    assert caught.value.variable == "SHOPIFY_WEBHOOK_SECRET"
    assert "defaults to SHOPIFY_CLIENT_SECRET" in caught.value.expected


def test_both_kinds_of_credentials_exit_2_with_one_line(tmp_path: Path) -> None:
    """`serve` given a client secret and a token prints one line naming the variables, exit 2."""
    env = {**APP, "SHOPIFY_ACCESS_TOKEN": "shpat_0123456789abcdef", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "shopify_sync", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = result.stderr.strip().splitlines()

    assert result.returncode == 2
    assert len(lines) == 1
    assert "SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET" in lines[0]
    assert "shpss_0123456789" not in result.stderr
