"""Entrypoint: the ``shopify-sync`` command line.

Errors become one readable line on stderr and an exit code scripts can rely on:
0 success, 1 a sync or Shopify failure, 2 bad configuration or usage, 3 not found,
4 conflict (not linked, disabled), 5 database unavailable.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
import typer

from shopify_sync.adapters.db.migrate import upgrade_url
from shopify_sync.config import load_database_url
from shopify_sync.errors import (
    ConfigError,
    ProductNotSyncable,
    ShopifySyncError,
    StorageError,
    StoreError,
    UnknownProduct,
)

EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4
EXIT_STORAGE = 5

app = typer.Typer(
    name="shopify-sync",
    help="Keep B2B and Shopify stock in sync, in both directions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("head", help="Target revision."),
) -> None:
    """Apply the database migrations (safe to run again)."""
    url = load_database_url(os.environ)
    upgrade_url(url, revision)
    typer.echo(f"database at {revision}: {_redact(url)}")


def _redact(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True)


def exit_code(exc: BaseException) -> int:
    """The exit code for an error that reached the command line."""
    match exc:
        case ConfigError():
            return EXIT_CONFIG
        case UnknownProduct():
            return EXIT_NOT_FOUND
        case ProductNotSyncable():
            return EXIT_CONFLICT
        case StorageError():
            return EXIT_STORAGE
        case _:
            return EXIT_FAILURE


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: map our errors to one line and an exit code.

    Typer's standalone mode handles usage errors (exit 2) and ``--help`` itself.
    """
    try:
        app(args=argv, prog_name="shopify-sync")
    except ShopifySyncError as exc:
        typer.echo(f"shopify-sync: {_label(exc)}: {exc}", err=True)
        sys.exit(exit_code(exc))


def _label(exc: ShopifySyncError) -> str:
    if isinstance(exc, ConfigError):
        return "configuration error"
    if isinstance(exc, StoreError):
        return "Shopify error"
    if isinstance(exc, StorageError):
        return "database error"
    return "error"
