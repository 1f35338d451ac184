"""Entrypoint: the operator's commands: locations, webhooks, explain, log, errors, retry.

They are registered on the ``shopify-sync`` app with the ``products`` group
(:mod:`.cli_products`). Each command builds a command value, calls one use case and prints
the answer: a table for people, ``--json`` for scripts. Exit codes are those of
:mod:`shopify_sync.entrypoints.cli`; besides errors, a command whose report is bad exits
non-zero: 1 for unhealthy webhooks, products with errors or failed syncs, 2 for a product
file with bad rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import typer
from rich.table import Table

from shopify_sync.bootstrap import Container
from shopify_sync.config import Need
from shopify_sync.domain.commands import RetryProducts
from shopify_sync.domain.model import Location, LogEntry, Product
from shopify_sync.entrypoints import cli_selection
from shopify_sync.entrypoints.cli_doctor import doctor
from shopify_sync.entrypoints.cli_output import (
    JSON,
    LOCAL,
    PUSH,
    SHOPIFY,
    SYNCING,
    failed,
    finish_sync,
    new_table,
    num,
    plain,
    print_json,
    run,
    stdout_console,
    syncing,
    when,
)
from shopify_sync.entrypoints.cli_products import products_app
from shopify_sync.errors import InvalidRequest
from shopify_sync.services import admin, setup, webhook_health
from shopify_sync.types import ProductId

webhooks_app = typer.Typer(
    help="Our webhook subscriptions in the store (replaces the seed's curl calls).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register(app: typer.Typer) -> None:
    """Add the operator's commands to the ``shopify-sync`` app."""
    app.add_typer(products_app, name="products")
    app.add_typer(webhooks_app, name="webhooks")
    app.command()(locations)
    app.command()(explain)
    app.command("log")(show_log)
    app.command()(errors)
    app.command()(retry)
    app.command()(doctor)


# -- setup ---------------------------------------------------------------------------------


def locations(as_json: bool = JSON) -> None:
    """List the store's locations with their ids (for SHOPIFY_LOCATION_ID)."""

    async def work(c: Container) -> tuple[list[Location], int | None]:
        return await setup.list_locations(c.store), c.settings.shopify_location_id

    def show(answer: tuple[list[Location], int | None]) -> None:
        found, configured = answer
        if as_json:
            print_json([{**plain(loc), "configured": loc.id == configured} for loc in found])
            return
        table = new_table("Locations", "#id", "name", "active", "fulfils online orders", "")
        for loc in found:
            mark = "<- SHOPIFY_LOCATION_ID" if loc.id == configured else ""
            table.add_row(
                str(loc.id), loc.name, _yes(loc.active), _yes(loc.fulfills_online_orders), mark
            )
        stdout_console().print(table)

    run(work, show, needs=SHOPIFY)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


ADDRESS = typer.Option(
    None,
    "--address",
    help="The service's public base URL, e.g. https://sync.example.com (default: PUBLIC_URL).",
)


def _address_needs(given: str | None) -> frozenset[Need]:
    """A webhooks command loads ``PUBLIC_URL`` (and so validates it) only when it uses it."""
    return SHOPIFY if given is not None else SHOPIFY | {Need.ADDRESS}


def _address(given: str | None, c: Container) -> str:
    """``--address``, else ``PUBLIC_URL``; neither is a usage error (exit 2)."""
    address = given if given is not None else c.settings.public_url
    if address is None:
        raise InvalidRequest(
            "no address: give --address https://sync.example.com or set PUBLIC_URL"
        )
    return address


@webhooks_app.command("register")
def webhooks_register(address: str | None = ADDRESS, as_json: bool = JSON) -> None:
    """Subscribe inventory_levels/update and orders/create to the service (idempotent)."""
    run(
        lambda c: setup.register_webhooks(c.store, _address(address, c)),
        lambda check: _print_webhooks(check, as_json),
        needs=_address_needs(address),
    )


@webhooks_app.command("check")
def webhooks_check(
    address: str | None = ADDRESS,
    repair: bool = typer.Option(False, "--repair", help="Create missing, remove wrong and extra."),
    as_json: bool = JSON,
) -> None:
    """List missing, wrong or extra subscriptions (exit 1 unless all is well)."""
    run(
        lambda c: (
            setup.register_webhooks(c.store, _address(address, c), repair=True)
            if repair
            else setup.check_webhooks(c.store, _address(address, c))
        ),
        lambda check: _print_webhooks(check, as_json),
        needs=_address_needs(address),
    )


def _print_webhooks(check: setup.WebhookCheck, as_json: bool) -> None:
    if as_json:
        print_json({**plain(check), "healthy": check.healthy})
    else:
        table = new_table(
            f"Webhook subscriptions for {check.address}", "state", "topic", "address", "id"
        )
        for state, subs in (
            ("created", check.created),
            ("ok", [s for s in check.ok if s not in check.created]),
            ("wrong address", check.wrong),
            ("extra", check.extra),
            ("deleted", check.deleted),
            ("other (left alone)", check.other),
        ):
            for sub in subs:
                table.add_row(state, sub.topic, sub.uri, sub.id)
        for topic, uri in check.missing:
            table.add_row("missing", topic, uri, "")
        stdout_console().print(table)
        typer.echo(
            "all subscriptions are in place"
            if check.healthy
            else "not in order: run `shopify-sync webhooks check --repair` (PUBLIC_URL, --address)"
        )
    if not check.healthy:
        raise failed()


# -- monitoring ----------------------------------------------------------------------------


def explain(
    product_id: str = typer.Argument(..., help="The product."), as_json: bool = JSON
) -> None:
    """Why Shopify shows what it shows for a product."""

    def show(result: admin.Explanation) -> None:
        if as_json:
            print_json(result)
            return
        p, level = result.product, result.level
        facts = new_table(f"{p.product_id}  {p.sku or ''}  {p.title or ''}".strip(), "", "value")
        for name, value in (
            ("B2B stock", num(p.b2b_stock)),
            ("B2C stock (ours)", num(p.b2c_stock)),
            (
                "Shopify available",
                num(level.available) if level else result.shopify_error or "not read",
            ),
            ("allocation", allocation_text(result)),
            ("published", result.published),
            ("agreed base", num(p.shopify_base) if p.shopify_base is not None else "never synced"),
            (
                "pending change of our pool",
                num(p.stored_pool - p.pool_base) if p.pool_base is not None else "",
            ),
            ("variant / item", f"{p.shopify_variant_id or '-'} / {p.inventory_item_id or '-'}"),
            ("sync", "on" if p.sync_enabled else "off"),
            ("last synced", when(p.last_synced_at)),
            ("last push", _log_fact(result.last_push)),
            ("last webhook applied", _log_fact(result.last_webhook)),
            ("error", p.sync_error or ""),
            ("next attempt", "parked" if p.parked_at else when(p.next_attempt_at)),
        ):
            facts.add_row(name, value)
        stdout_console().print(facts)
        for line in result.lines:
            typer.echo(f"- {line}")

    run(
        lambda c: admin.explain(
            product_id,
            c.uow,
            c.store,
            initial_source=c.settings.initial_source,
            default=c.default_allocation,
        ),
        show,
        needs=SYNCING,
    )


def allocation_text(result: admin.Explanation) -> str:
    """``shared, buffer 5, cap 50``, marked when the product has none of its own."""
    a = result.allocation
    text = a.policy + (f", buffer {a.buffer:,}" if a.buffer else "")
    text += "" if a.cap is None else f", cap {a.cap:,}"
    own = result.product.allocation_policy is not None
    return text if own else f"{text} (the settings'; its own from its first sync)"


def _log_fact(entry: LogEntry | None) -> str:
    if entry is None:
        return ""
    reference = entry.reference or "-"
    return f"{entry.old_value} -> {entry.new_value} at {when(entry.created_at)} (ref {reference})"


def log_table(entries: Sequence[LogEntry]) -> Table:
    """The audit trail as a table that stays readable 100 columns wide: the time, product,
    change and who made it never wrap; the detail folds (nothing is cut)."""
    zone = datetime.now().astimezone().tzname()
    table = new_table(f"Audit log (newest first, times in {zone})", "when", "product")
    table.columns[0].no_wrap = True
    table.add_column("change", no_wrap=True)
    table.add_column("by")
    table.add_column("detail", ratio=1, overflow="fold")
    for e in entries:
        table.add_row(
            f"{e.created_at.astimezone():%Y-%m-%d %H:%M:%S}",
            e.product_id,
            _log_change(e),
            f"{e.direction} {e.source}",
            _log_detail(e),
        )
    return table


def _log_change(entry: LogEntry) -> str:
    """``b2c_stock 20 -> 17 (-3)``; a note without numbers is its field alone."""
    if entry.old_value is None and entry.new_value is None:
        return entry.field
    if entry.old_value is None:
        return f"{entry.field} set to {entry.new_value:,}"
    return f"{entry.field} {entry.old_value:,} -> {num(entry.new_value)} ({entry.delta:+,})"


def _log_detail(entry: LogEntry) -> str:
    """The detail, and the reference when the detail does not carry it (shortened)."""
    detail = entry.detail or ""
    reference = entry.reference or ""
    if reference and reference not in detail:
        short = reference if len(reference) <= 20 else reference[:8] + "..."
        detail = f"{detail} (ref {short})" if detail else f"ref {short}"
    return detail


def show_log(
    product: str | None = typer.Option(None, "--product", help="Only this product."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="How many rows."),
    as_json: bool = JSON,
) -> None:
    """The audit trail, newest first (replaces the seed's inventory_sync_log query)."""

    def show(entries: list[LogEntry]) -> None:
        if as_json:
            print_json(entries)
            return
        table = log_table(entries)
        stdout_console().print(table)

    async def work(c: Container) -> list[LogEntry]:
        entries = await admin.recent_log(c.uow, product_id=product, limit=limit)
        if product is not None and not entries:
            await admin.get_product(c.uow, product)  # a product that does not exist: exit 3
        return entries

    run(work, show, needs=LOCAL)


def errors(as_json: bool = JSON) -> None:
    """Products whose sync failed, and a wrong webhook secret (exit 1 when there is any)."""

    async def work(c: Container) -> tuple[list[Product], str | None]:
        found = await admin.products_with_errors(c.uow)
        return found, await webhook_health.signature_alarm(c.uow, c.clock)

    def show(report: tuple[list[Product], str | None]) -> None:
        found, alarm = report
        if alarm is not None:
            typer.echo(f"shopify-sync: webhooks: {alarm}", err=True)
        if as_json:
            print_json(found)
        else:
            table = new_table(
                f"{len(found)} product(s) with errors",
                "product",
                "SKU",
                "status",
                "#attempts",
                "next attempt",
                "error",
            )
            for p in found:
                table.add_row(
                    p.product_id,
                    p.sku or "",
                    admin.product_status(p),
                    str(p.sync_attempts),
                    "parked" if p.parked_at else when(p.next_attempt_at),
                    p.sync_error or "",
                )
            stdout_console().print(table)
        if found or alarm is not None:
            raise failed()

    run(work, show, needs=LOCAL)


def retry(
    product_ids: list[str] | None = cli_selection.IDS,
    parked: bool = typer.Option(False, "--parked", help="Every parked product."),
    errors: bool = typer.Option(
        False, "--errors", "--all", help="Every product in error (parked or waiting to retry)."
    ),
    push: bool = PUSH,
    as_json: bool = JSON,
) -> None:
    """Forget products' failures and sync them again now: ids, --errors (--all) or --parked."""
    if bool(product_ids) == (parked or errors):
        raise typer.BadParameter("give PRODUCT_IDs, or --errors (--all) or --parked (not both)")
    cmd = RetryProducts(
        parked=parked, errors=errors, push=push,
        product_ids=tuple(ProductId(i) for i in product_ids or ()),
    )  # fmt: skip

    def show(report: admin.RetryReport) -> None:
        if as_json:
            print_json(report)
        else:
            typer.echo(f"retried {len(report.retried)} product(s)")
        finish_sync(report.results, echo=not as_json)

    run(lambda c: admin.retry(cmd, c.uow, c.engine, c.clock), show, needs=syncing(push))
