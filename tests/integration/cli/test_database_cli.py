"""A bad DATABASE_URL is one line and exit 5 on every path, run as processes.

An unopenable SQLite file, a refused PostgreSQL port and a missing PostgreSQL database, for
reads, migrations and start-up (with and without AUTO_MIGRATE); a malformed URL is a
configuration error (exit 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url

from shopify_sync.adapters.db.migrate import head_revision
from tests.conftest import postgres_url, require_postgres

SETTINGS = {
    "SHOPIFY_STORE_DOMAIN": "demo.myshopify.com",
    "SHOPIFY_ACCESS_TOKEN": "shpat_db_test",
    "SHOPIFY_WEBHOOK_SECRET": "shpss_db_test",
    "SHOPIFY_LOCATION_ID": "1",
    "SHOPIFY_ADMIN_URL": "http://127.0.0.1:9",
    "SYNC_API_TOKEN": "db-test-token",
}
COMMANDS = [
    ("products", "list"),
    ("db", "upgrade"),
    ("log",),
    ("sync", "--all"),
    ("serve", "--port", "9"),
]


def cli(
    tmp_path: Path, database_url: str, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``shopify-sync ARGS`` in ``tmp_path`` with only our settings in the environment."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SHOPIFY_", "SYNC_", "DATABASE_", "AUTO_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "shopify_sync", *args],
        env={**base, **SETTINGS, "DATABASE_URL": database_url, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def missing_database() -> str:
    """A database name the test PostgreSQL server does not have."""
    require_postgres()
    return (
        make_url(postgres_url())
        .set(database="shopify_sync_no_such_db")
        .render_as_string(hide_password=False)
    )


@pytest.mark.parametrize(
    ("args", "auto_migrate"),
    [
        *((args, "true") for args in COMMANDS),
        (("serve", "--port", "9"), "false"),
        (("products", "list"), "false"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else f"AUTO_MIGRATE={value}",
)
@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:////nonexistent-folder/x.db", "the folder must exist and be writable"),
        ("postgresql://postgres@127.0.0.1:9/db", "connection refused"),
        (None, 'database "shopify_sync_no_such_db" does not exist; create it'),
    ],
    ids=["sqlite-unopenable", "postgres-refused", "postgres-missing-db"],
)
def test_unavailable_database_is_one_line_and_exit_5(
    tmp_path: Path, args: tuple[str, ...], url: str | None, says: str, auto_migrate: str
) -> None:
    """Every command, with AUTO_MIGRATE on or off, prints one line naming the fix, exit 5."""
    database_url = url or missing_database()

    result = cli(tmp_path, database_url, *args, AUTO_MIGRATE=auto_migrate)

    assert (result.returncode, result.stdout) == (5, "")
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("shopify-sync: database error: cannot open the database ")
    assert says in lines[0]


def test_unmigrated_database_without_auto_migrate_says_to_upgrade(tmp_path: Path) -> None:
    """With AUTO_MIGRATE=false, an empty database is one line telling to run db upgrade."""
    result = cli(tmp_path, "sqlite:///./empty.db", "serve", "--port", "9", AUTO_MIGRATE="false")

    assert result.returncode == 5
    assert result.stderr.splitlines() == [
        "shopify-sync: database error: the database sqlite:///./empty.db is at schema revision "
        f"none, this version needs {head_revision()}: run `shopify-sync db upgrade` "
        "(AUTO_MIGRATE is false)"
    ]


def test_malformed_database_url_is_a_configuration_error(tmp_path: Path) -> None:
    """A URL that cannot be parsed (a port that is not a number) is exit 2, naming it."""
    result = cli(tmp_path, "postgresql://u@host:port/db", "products", "list")

    assert result.returncode == 2
    assert result.stderr.startswith(
        "shopify-sync: configuration error: DATABASE_URL: expected a URL"
    )
