"""Entrypoint: the ``shopify-sync`` command line.

Errors become one readable line on stderr and an exit code scripts can rely on:
0 success, 1 a sync or Shopify failure, 2 bad configuration, usage or input, 3 not found,
4 conflict (not linked, disabled, an ambiguous link), 5 database unavailable.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Collection, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

import structlog
import typer
from sqlalchemy import make_url

from shopify_sync import bootstrap
from shopify_sync.bootstrap import Container
from shopify_sync.config import EVERY_NEED, Need, Settings, load_settings
from shopify_sync.domain.commands import ReconcileAll, SyncProduct
from shopify_sync.entrypoints import cli_alerts, cli_ops
from shopify_sync.entrypoints.cli_output import LOCAL, SYNCING, new_table, num, stdout_console
from shopify_sync.entrypoints.demo import demo as demo_command
from shopify_sync.errors import (
    ConfigError,
    InvalidQuantity,
    InvalidRequest,
    LinkConflict,
    ProductNotSyncable,
    ShopifySyncError,
    StorageError,
    StorageRejected,
    StoreAuthFailed,
    StoreError,
    UnknownProduct,
    UnknownVariant,
    WriteInFlight,
)
from shopify_sync.services import handlers
from shopify_sync.simulator.cli import simulator as simulator_command
from shopify_sync.types import ProductId

EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4
EXIT_STORAGE = 5

T = TypeVar("T")

app = typer.Typer(
    name="shopify-sync",
    help="Keep B2B and Shopify stock in sync, in both directions.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(db_app, name="db")
# The simulator is a separate app that shares no code with the service; only its command is here.
app.command("simulator")(simulator_command)
cli_ops.register(app)
cli_alerts.register(app)
app.command("demo")(demo_command)


_VERBOSE: ContextVar[bool] = ContextVar("verbose", default=False)
"""``--verbose``: a command's log is noise beside its table and its one-line error, so it is
shown only when asked for; ``serve`` always logs."""


@app.callback()
def options(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Show the log on stderr (at LOG_LEVEL) as a command runs."
    ),
) -> None:
    """Keep B2B and Shopify stock in sync, in both directions."""
    _VERBOSE.set(verbose)


def settings(needs: Collection[Need] = EVERY_NEED) -> Settings:
    """The settings a command uses, validated, from the environment and ``.env``."""
    return load_settings(os.environ, needs=needs)


def with_container(work: Callable[[Container], Awaitable[T]], *, needs: Collection[Need]) -> T:
    """Build the container from the settings of ``needs``, run ``work`` with it, close it.

    The database is opened first (migrated, or checked when ``AUTO_MIGRATE`` is false), so
    that a bad ``DATABASE_URL`` is one line before anything runs; a command that does not
    load ``Need.DATABASE`` never opens it.
    """

    async def main() -> T:
        config = settings(needs)
        bootstrap.configure_logging(config.log_level, enabled=_VERBOSE.get())
        if Need.DATABASE in needs:
            await bootstrap.prepare_database(config)
        container = await bootstrap.build(config, migrate=False)
        try:
            if Need.LOCATION in needs:
                await container.check_location()
            return await work(container)
        finally:
            await container.aclose()

    return asyncio.run(main())


def emit(data: Any, as_json: bool, lines: Sequence[str]) -> None:
    """Print JSON for scripts or readable lines for people."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        for line in lines:
            typer.echo(line)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply the database migrations (safe to run again)."""
    url = settings(LOCAL).database_url
    bootstrap.upgrade_database(url, revision)
    typer.echo(f"database at {revision}: {make_url(url).render_as_string(hide_password=True)}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8080, help="Port to listen on."),
) -> None:
    """Run the API, the webhooks, the scheduled reconcile and the retries."""
    import uvicorn

    from shopify_sync.entrypoints.web.app import create_app

    config = settings(EVERY_NEED)
    unchecked: StoreError | None = None
    try:
        # A wrong location stops start-up (exit 2) before any product is synced.
        with_container(lambda c: c.check_location(), needs=EVERY_NEED)
    except StoreError as exc:
        unchecked = exc
    bootstrap.configure_logging(config.log_level)  # the service always logs
    if unchecked is not None:
        why = (
            "Shopify refused our credentials"
            if isinstance(unchecked, StoreAuthFailed)
            else "Shopify did not answer"
        )
        structlog.get_logger(__name__).warning(
            f"SHOPIFY_LOCATION_ID not checked yet: {why}; "
            "the service checks it before its first sync",
            error=str(unchecked),
        )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    typer.echo(
        f"shopify-sync: admin page http://{shown}:{port}/admin (sign in with ADMIN_PASSWORD "
        "or SYNC_API_TOKEN); Ctrl+C stops"
    )
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level=config.log_level.lower(),
        proxy_headers=True,
        # SIGTERM: stop accepting, let requests in flight finish for up to this long,
        # then the lifespan finishes the webhook batches and the background pushes.
        timeout_graceful_shutdown=max(1, round(config.shutdown_grace_s)),
    )


@app.command()
def sync(
    product_id: str | None = typer.Argument(None, help="The product to sync now."),
    all_: bool = typer.Option(False, "--all", help="Reconcile every enabled, linked product."),
    dry_run: bool = typer.Option(False, "--dry-run", help="With --all: show the diff only."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Merge and push one product, or reconcile them all."""
    if all_ == (product_id is not None):
        raise typer.BadParameter("give a PRODUCT_ID or --all (not both)")
    if dry_run and not all_:
        raise typer.BadParameter("--dry-run goes with --all")
    if product_id is not None:
        result = with_container(
            lambda c: handlers.sync_product(
                SyncProduct(ProductId(product_id), source="cli:sync"), c.uow, c.engine
            ),
            needs=SYNCING,
        )
        data = {
            "product_id": result.product_id,
            "action": result.action,
            "b2c_stock": result.b2c_stock,
            "shopify_available": result.shopify_available,
            "error": result.error,
        }
        line = (
            f"{result.product_id}: {result.action}; ours {result.b2c_stock}, "
            f"Shopify {result.shopify_available}"
        )
        emit(data, as_json, [line + (f"\n  error: {result.error}" if result.error else "")])
        if result.action == "failed":
            raise typer.Exit(EXIT_FAILURE)
        return
    if dry_run:
        plan = with_container(
            lambda c: handlers.plan_reconcile(c.uow, c.engine, c.default_allocation), needs=SYNCING
        )
        if as_json:
            emit([_as_dict(p) for p in plan], as_json, [])
        else:
            _print_plan(plan)
        return
    summary = with_container(
        lambda c: handlers.reconcile_all(
            ReconcileAll(source="cli:sync-all"), c.uow, c.engine, c.clock
        ),
        needs=SYNCING,
    )
    emit(
        _as_dict(summary),
        as_json,
        [
            f"checked {summary.checked}, changed {summary.changed}, failed {summary.failed}"
            f" in {summary.duration_s:.2f} s"
        ],
    )
    if summary.failed:
        raise typer.Exit(EXIT_FAILURE)


def _print_plan(plan: Sequence[handlers.PlannedChange]) -> None:
    """The dry run's differences as a table: both sides, the merge, what would be written,
    and how the product's allocation makes what Shopify is to show."""
    table = new_table(
        f"{len(plan)} product(s) differ (dry run: nothing written)",
        "product", "SKU", "#ours (pool)", "#Shopify", "#base", "#merged", "to Shopify",
        "why (allocation)", "note",
    )  # fmt: skip
    for p in plan:
        table.add_row(
            p.product_id, p.sku or "", num(p.ours), num(p.shopify), num(p.base), num(p.merged),
            "nothing to write" if p.write is None else f"set {p.write:,}", p.why,
            p.problem or "",
        )  # fmt: skip
    stdout_console().print(table)


def _as_dict(value: object) -> dict[str, Any]:
    slots = getattr(value, "__slots__", ())
    return {name: getattr(value, name) for name in slots}


def exit_code(exc: BaseException) -> int:
    """The exit code for an error that reached the command line."""
    match exc:
        case ConfigError() | InvalidQuantity() | InvalidRequest() | StorageRejected():
            return EXIT_CONFIG
        case UnknownProduct() | UnknownVariant():
            return EXIT_NOT_FOUND
        case ProductNotSyncable() | LinkConflict() | WriteInFlight():
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
