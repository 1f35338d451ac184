"""Entrypoint: ``shopify-sync products ...``: list, link, allocate, enable, import, export.

Each command builds a command value, calls one use case and prints the answer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from shopify_sync.bootstrap import Container
from shopify_sync.domain.allocation import POLICIES, Allocation
from shopify_sync.domain.commands import (
    Allocate,
    AutoLink,
    ChangeAllocation,
    Channel,
    ImportProducts,
    LinkProduct,
    SetSyncEnabled,
    SetSyncEnabledMany,
)
from shopify_sync.domain.model import Product
from shopify_sync.entrypoints import cli_selection
from shopify_sync.entrypoints.cli_output import (
    CATALOGUE,
    CLI_REFERENCE,
    JSON,
    LOCAL,
    PUSH,
    bad_input,
    finish_sync,
    new_table,
    num,
    plain,
    print_json,
    progress,
    progress_bars,
    run,
    stdout_console,
    syncing,
    when,
)
from shopify_sync.errors import InvalidRequest
from shopify_sync.services import admin, allocation, linking, product_csv
from shopify_sync.types import ProductId, VariantId

products_app = typer.Typer(
    help="Products: list, link to Shopify variants, allocate, enable, import and export.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@products_app.command("list")
def products_list(
    errors_only: bool = typer.Option(False, "--errors", help="Only products whose sync failed."),
    unlinked: bool = typer.Option(False, "--unlinked", help="Only products without a variant."),
    disabled: bool = typer.Option(False, "--disabled", help="Only products with sync off."),
    parked: bool = typer.Option(False, "--parked", help="Only products parked after failures."),
    linked: bool = typer.Option(False, "--linked", help="Only products linked to a variant."),
    search: str | None = typer.Option(None, "--search", help="Part of the id, SKU or title."),
    policy: str | None = typer.Option(
        None,
        "--policy",
        help="Only products under this allocation policy, split or shared (those without "
        "their own count under ALLOCATION_POLICY).",
    ),
    limit: int = typer.Option(0, "--limit", min=0, help="At most this many (0: all)."),
    as_json: bool = JSON,
) -> None:
    """List products with their stocks, allocation, link and sync status."""
    chosen = next((known for known in POLICIES if known == policy), None)
    if policy is not None and chosen is None:
        raise typer.BadParameter(f"--policy takes {' or '.join(POLICIES)}, not {policy!r}")

    async def work(c: Container) -> list[Product]:
        filters = admin.ProductFilter(
            linked, unlinked, errors_only, disabled, parked, search, chosen,
            c.default_allocation.policy,
        )  # fmt: skip
        unfiltered = chosen is None and filters == admin.ProductFilter(
            default_policy=c.default_allocation.policy
        )
        total = (await admin.product_counts(c.uow))["total"] if unfiltered else None
        found: list[Product] = []
        with progress("reading products", total) as advance:
            async for page in admin.walk_products(c.uow, filters):
                found.extend(page)
                advance(len(page))
                if limit and len(found) >= limit:
                    break
        return found[:limit] if limit else found

    def show(products: list[Product]) -> None:
        if as_json:
            print_json([{**plain(p), "status": admin.product_status(p)} for p in products])
            return
        table = new_table(
            f"{len(products)} product(s)", "product", "SKU", "title", "B2B", "B2C", "base",
            "policy", "variant", "sync", "status", "last synced",
        )  # fmt: skip
        for p in products:
            table.add_row(
                p.product_id, p.sku or "", p.title or "", num(p.b2b_stock), num(p.b2c_stock),
                num(p.shopify_base), p.allocation_policy or "-", p.shopify_variant_id or "",
                "on" if p.sync_enabled else "off", admin.product_status(p),
                when(p.last_synced_at),
            )  # fmt: skip
        stdout_console().print(table)

    run(work, show, needs=LOCAL)


@products_app.command("link")
def products_link(
    product_id: str | None = typer.Argument(None, help="The product to link."),
    variant: int | None = typer.Option(None, "--variant", help="Shopify variant id."),
    sku: str | None = typer.Option(None, "--sku", help="The variant's exact SKU."),
    auto: bool = typer.Option(False, "--auto", help="Link every unlinked product by SKU."),
    dry_run: bool = typer.Option(False, "--dry-run", help="With --auto: change nothing."),
    as_json: bool = JSON,
) -> None:
    """Link a product to a Shopify variant, or all unlinked products by SKU (--auto)."""
    if auto:
        if product_id is not None or variant is not None or sku is not None:
            raise typer.BadParameter("--auto takes no PRODUCT_ID, --variant or --sku")
        _auto_link(dry_run, as_json)
        return
    if product_id is None or (variant is None) == (sku is None):
        raise typer.BadParameter("give PRODUCT_ID with --variant ID or --sku SKU, or --auto")
    if dry_run:
        raise typer.BadParameter("--dry-run goes with --auto")
    cmd = LinkProduct(ProductId(product_id), None if variant is None else VariantId(variant), sku)

    def show(result: linking.LinkResult) -> None:
        if as_json:
            print_json(result)
            return
        v = result.variant
        verb = "linked" if result.changed else "already linked"
        typer.echo(
            f"{product_id}: {verb} to variant {v.id} ({v.title}, SKU {v.sku or '-'}),"
            f" item {v.inventory_item_id}"
        )
        if result.changed:
            typer.echo(
                "  its next sync is a first sync"
                + (
                    ""
                    if result.product.sync_enabled
                    else "; sync is off: `shopify-sync products enable`"
                )
            )

    run(lambda c: linking.link_product(cmd, c.uow, c.store, c.clock), show, needs=CATALOGUE)


LISTED_LINKS = 50
"""Up to this many links are listed one per row; beyond, they are counted (``--json`` lists all)."""


def _auto_link(dry_run: bool, as_json: bool) -> None:
    async def work(c: Container) -> linking.AutoLinkReport:
        total = await admin.product_counts(c.uow)
        unlinked = total["total"] - total["linked"]
        if unlinked < linking.BULK_LINK_THRESHOLD:
            with progress("matching SKUs", unlinked) as advance:
                return await linking.auto_link(
                    AutoLink(dry_run), c.uow, c.store, c.clock, progress=advance
                )
        bars = (("reading Shopify's variants", None), ("matching SKUs", unlinked))
        with progress_bars(*bars) as (reading, advance):
            return await linking.auto_link(
                AutoLink(dry_run), c.uow, c.store, c.clock, progress=advance, reading=reading
            )

    def show(report: linking.AutoLinkReport) -> None:
        if as_json:
            print_json({"dry_run": report.dry_run, "items": plain(report.items)})
            return
        links = report.linked
        listed = [i for i in report.items if i.outcome != "linked" or links <= LISTED_LINKS]
        table = new_table(
            "Auto-link by SKU" + (" (dry run: nothing changed)" if dry_run else ""),
            "product",
            "SKU",
            "outcome",
            "detail",
        )
        for item in sorted(listed, key=lambda i: (i.outcome != "linked", i.outcome, i.product_id)):
            outcome = (
                "would link"
                if dry_run and item.outcome == "linked"
                else item.outcome.replace("_", " ")
            )
            table.add_row(item.product_id, item.sku or "", outcome, item.detail)
        if listed:
            stdout_console().print(table)
        if links > LISTED_LINKS:
            verb = "would be linked" if dry_run else "linked"
            typer.echo(f"{links:,} products {verb} (not listed one by one: --json lists them)")
        typer.echo(auto_link_summary(report))

    run(work, show, needs=CATALOGUE)


NO_PRODUCTS_YET = (
    "no products in product_inventory yet: the B2B platform's Inventory Service writes them, "
    "or add them from a CSV file with `shopify-sync products import products.csv` "
    "(product_id and sku at least), then link"
)


def auto_link_summary(report: linking.AutoLinkReport) -> str:
    """One line: how many products each outcome got ("would link" in a dry run), or why
    there was nothing to link."""
    if report.products == 0:
        return NO_PRODUCTS_YET
    if not report.items:
        return f"every product is linked already ({report.products:,})"
    counts = {o: len(report.of(o)) for o in sorted({i.outcome for i in report.items})}
    return ", ".join(
        f"would link {n:,}" if o == "linked" and report.dry_run else f"{n:,} {o.replace('_', ' ')}"
        for o, n in counts.items()
    )


@products_app.command("unlink")
def products_unlink(product_id: str = typer.Argument(..., help="The product.")) -> None:
    """Forget a product's Shopify variant; it stops syncing until linked again."""

    def show(_: Product) -> None:
        typer.echo(f"{product_id}: unlinked")

    run(lambda c: linking.unlink_product(product_id, c.uow, c.clock), show, needs=LOCAL)


@products_app.command("allocate")
def products_allocate(
    product_id: str = typer.Argument(..., help="The product."),
    b2c: int | None = typer.Option(None, "--b2c", help="Set the B2C (Shopify) stock."),
    b2b: int | None = typer.Option(None, "--b2b", help="Set the B2B stock."),
    move: int | None = typer.Option(None, "--move", help="Move this many units ..."),
    to: str | None = typer.Option(None, "--to", help="... to b2c or b2b."),
    policy: str | None = typer.Option(
        None, "--policy", help="split (Shopify sells b2c_stock) or shared (one pool, b2b_stock)."
    ),
    buffer: int | None = typer.Option(None, "--buffer", help="Units kept off Shopify."),
    cap: int | None = typer.Option(None, "--cap", help="At most this many shown on Shopify."),
    no_cap: bool = typer.Option(False, "--no-cap", help="Remove the cap."),
    push: bool = PUSH,
    as_json: bool = JSON,
) -> None:
    """Set the stock of each channel, move units between them, or change the allocation
    policy, buffer and cap (logged as admin; units are never lost or invented)."""
    if policy is not None or buffer is not None or cap is not None or no_cap:
        if b2c is not None or b2b is not None or move is not None or to is not None:
            raise InvalidRequest(
                "give --policy/--buffer/--cap/--no-cap or --b2c/--b2b/--move, not both"
            )
        change = ChangeAllocation(
            ProductId(product_id), policy, buffer, cap, no_cap, CLI_REFERENCE, push
        )

        def show_allocation(result: allocation.AllocationResult) -> None:
            _print_allocation(result, as_json)

        run(
            lambda c: allocation.change_allocation(
                change, c.uow, c.engine, c.clock, c.default_allocation
            ),
            show_allocation,
            needs=syncing(push),
        )
        return
    if to is not None and to not in ("b2c", "b2b"):
        raise typer.BadParameter("--to takes b2c or b2b")
    channel: Channel | None = "b2c" if to == "b2c" else "b2b" if to == "b2b" else None
    cmd = Allocate(ProductId(product_id), b2c, b2b, move, channel, push, CLI_REFERENCE)

    def show(result: admin.ChangeResult) -> None:
        _print_change(result, as_json)

    run(lambda c: admin.allocate(cmd, c.uow, c.engine, c.clock), show, needs=syncing(push))


@products_app.command("enable")
def products_enable(
    product_ids: list[str] | None = cli_selection.IDS,
    all_: bool = cli_selection.ALL,
    errors: bool = cli_selection.ERRORS,
    unlinked: bool = cli_selection.UNLINKED,
    linked: bool = cli_selection.LINKED,
    disabled: bool = cli_selection.DISABLED,
    parked: bool = cli_selection.PARKED,
    push: bool = PUSH,
    as_json: bool = JSON,
) -> None:
    """Turn sync on for products and sync them now: ids, or --all or a filter."""
    chosen = cli_selection.selection(
        product_ids, all_=all_, errors=errors, unlinked=unlinked, linked=linked,
        disabled=disabled, parked=parked,
    )  # fmt: skip
    _set_enabled(chosen, True, push, as_json)


@products_app.command("disable")
def products_disable(
    product_ids: list[str] | None = cli_selection.IDS,
    all_: bool = cli_selection.ALL,
    errors: bool = cli_selection.ERRORS,
    unlinked: bool = cli_selection.UNLINKED,
    linked: bool = cli_selection.LINKED,
    parked: bool = cli_selection.PARKED,
    as_json: bool = JSON,
) -> None:
    """Turn sync off for products (Shopify keeps its own quantity): ids, or --all or a filter."""
    chosen = cli_selection.selection(
        product_ids, all_=all_, errors=errors, unlinked=unlinked, linked=linked, parked=parked
    )
    _set_enabled(chosen, False, False, as_json)


def _set_enabled(chosen: cli_selection.Selection, enabled: bool, push: bool, as_json: bool) -> None:
    if chosen.single is not None:
        cmd = SetSyncEnabled(chosen.single, enabled, push)
        run(
            lambda c: admin.set_sync_enabled(cmd, c.uow, c.engine, c.clock),
            lambda result: _print_change(result, as_json),
            needs=syncing(push and enabled),
        )
        return

    async def work(c: Container) -> admin.BulkChange:
        ids = await admin.selected_ids(c.uow, chosen.ids, chosen.filters)
        many = SetSyncEnabledMany(tuple(ids), enabled, push)
        return await admin.set_sync_enabled_many(many, c.uow, c.engine, c.clock)

    verb = "enabled" if enabled else "disabled"
    run(
        work,
        lambda change: cli_selection.print_bulk(verb, change, as_json),
        needs=syncing(push and enabled),
    )


def _print_change(result: admin.ChangeResult, as_json: bool) -> None:
    if as_json:
        print_json(result)
    else:
        b, a = result.before, result.after
        typer.echo(
            f"{a.product_id}: B2B {b.b2b_stock} -> {a.b2b_stock},"
            f" B2C {b.b2c_stock} -> {a.b2c_stock}, "
            f"sync {'on' if a.sync_enabled else 'off'}"
        )
        if result.sync is None and a.sync_enabled and a.linked and a.pending:
            typer.echo("  pending: the service pushes it within seconds")
    finish_sync([] if result.sync is None else [result.sync], echo=not as_json)


def _print_allocation(result: allocation.AllocationResult, as_json: bool) -> None:
    if as_json:
        print_json(result)
    else:
        b, a = result.before, result.after
        if not result.changed:
            typer.echo(
                f"{a.product_id}: allocation already {describe(result.new)}; nothing changed"
            )
        else:
            typer.echo(
                f"{a.product_id}: {describe(result.old)} -> {describe(result.new)};"
                f" B2B {b.b2b_stock} -> {a.b2b_stock}, B2C {b.b2c_stock} -> {a.b2c_stock}"
            )
        typer.echo(f"  {result.explanation}")
        if result.sync is None and a.sync_enabled and a.linked and a.pending:
            typer.echo("  pending: the service pushes it within seconds")
    finish_sync([] if result.sync is None else [result.sync], echo=not as_json)


def describe(policy: Allocation) -> str:
    """An allocation in words: "shared, buffer 5, cap 50" (no buffer, no cap left out)."""
    parts: list[str] = [policy.policy]
    if policy.buffer:
        parts.append(f"buffer {policy.buffer}")
    if policy.cap is not None:
        parts.append(f"cap {policy.cap}")
    return ", ".join(parts)


OUTPUT = typer.Option(None, "--output", "-o", help="File to write (default: stdout).")


@products_app.command("export")
def products_export(
    output: Path | None = OUTPUT,
) -> None:
    """Write every product as CSV: product_id, sku, b2b_stock, b2c_stock, variant, sync_enabled,
    allocation_policy, allocation_buffer, allocation_cap, explanation (read-only)."""

    async def work(c: Container) -> int:
        total = (await admin.product_counts(c.uow))["total"]
        written = 0
        sink = sys.stdout if output is None else output.open("w", encoding="utf-8", newline="")
        try:
            with progress("exporting", total) as advance:
                async for count, text in product_csv.export_products(c.uow, c.default_allocation):
                    sink.write(text)
                    written += count
                    advance(count)
        finally:
            if output is not None:
                sink.close()
        return written

    def show(written: int) -> None:
        if output is not None:
            typer.echo(f"{written} product(s) written to {output}")

    run(work, show, needs=LOCAL)


@products_app.command("import")
def products_import(
    file: str = typer.Argument(..., help="CSV file ('-' for stdin)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the diff, change nothing."),
    push: bool = PUSH,
    as_json: bool = JSON,
) -> None:
    """Apply a product CSV: every row or, when any row is bad, none (exit 2)."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc.strerror}") from None
    cmd = ImportProducts(text, dry_run, push, reference=f"csv:{Path(file).name}")

    def show(report: product_csv.ImportReport) -> None:
        if as_json:
            print_json(report)
        else:
            _print_import(report)
        if report.errors:
            raise bad_input()
        finish_sync(report.synced, echo=not as_json)

    run(
        lambda c: product_csv.import_products(
            cmd, c.uow, c.store, c.engine, c.clock, c.default_allocation
        ),
        show,
        needs=syncing(push and not dry_run),
    )


def _print_import(report: product_csv.ImportReport) -> None:
    table = new_table(
        "Changes" + (" (dry run: nothing written)" if report.dry_run else ""),
        "#line",
        "product",
        "column",
        "now",
        "file",
    )
    for change in report.changes:
        for i, d in enumerate(change.changes):
            now = "(new product)" if change.created and i == 0 else _cell(d.old)
            table.add_row(
                str(change.line) if i == 0 else "",
                change.product_id if i == 0 else "",
                d.column,
                now,
                _cell(d.new),
            )
        for d in change.moves:
            table.add_row("", "", f"{d.column} (moved by the policy)", _cell(d.old), _cell(d.new))
        if change.explanation:
            table.add_row("", "", "then", "", change.explanation)
    stdout_console().print(table)
    for error in report.errors:
        typer.echo(f"line {error.line}: {error.message}", err=True)
    state = (
        "applied" if report.applied else "NOT applied" if report.errors else "not applied (dry run)"
    )
    typer.echo(
        f"{len(report.changes)} changed, {report.unchanged} unchanged,"
        f" {len(report.errors)} bad row(s): {state}"
    )


def _cell(value: object) -> str:
    return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
