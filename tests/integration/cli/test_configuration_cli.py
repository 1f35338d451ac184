"""Mistakes of a new user's first hour, run as processes: one line, the right exit code, and
nothing parked or written because of them (issue 12)."""

from __future__ import annotations

import asyncio
import io
import socket
from datetime import UTC, datetime

from rich.console import Console

from shopify_sync.adapters.clock import SystemClock
from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.domain.model import LogEntry
from shopify_sync.entrypoints.cli_ops import log_table
from shopify_sync.services.webhook_health import SIGNATURE, RefusalCounter
from shopify_sync.types import ProductId
from tests.integration.cli.conftest import Shop
from tests.integration.cli.test_operator_cli import seed


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_wrong_location_is_a_configuration_error_that_parks_nothing(shop: Shop) -> None:
    """An unknown SHOPIFY_LOCATION_ID stops `sync`, `sync --all --dry-run`, `enable` and
    `serve` with one line naming it and `shopify-sync locations` (exit 2); nothing is parked."""
    seed(shop)
    shop.cli("products", "link", "p-mug", "--sku", "MUG-1")
    shop.sql("UPDATE product_inventory SET sync_enabled = true WHERE product_id = 'p-mug'")
    shop.env["SHOPIFY_LOCATION_ID"] = "999999"

    results = [
        shop.cli("sync", "p-mug"),
        shop.cli("sync", "--all", "--dry-run"),
        shop.cli("products", "enable", "p-mug"),
        shop.cli("serve", "--port", str(free_port())),
    ]

    for result in results:
        assert result.code == 2, result.out + result.err
        [line] = result.err.strip().splitlines()
        assert line.startswith("shopify-sync: configuration error: SHOPIFY_LOCATION_ID:")
        assert "no location with id 999999" in line and "shopify-sync locations" in line
        assert "None" not in result.out
    assert shop.sql(
        "SELECT sync_error, parked_at, sync_attempts FROM product_inventory"
        " WHERE product_id = 'p-mug'"
    ) == [(None, None, 0)]


def refuse_deliveries(shop: Shop, count: int) -> None:
    """Record ``count`` deliveries refused for their signature just now, as `serve` does."""

    async def run() -> None:
        engine = create_engine(shop.database_url)
        try:
            counter = RefusalCounter(SqlUnitOfWorkFactory(engine), SystemClock())
            for _ in range(count):
                await counter.refused(SIGNATURE)
            await counter.flush()
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_errors_names_a_wrong_webhook_secret(shop: Shop) -> None:
    """Recent deliveries refused for their signature and none accepted: `errors` says so on
    stderr, naming SHOPIFY_WEBHOOK_SECRET, and exits 1 (its JSON stays the product list)."""
    clean = shop.cli("errors", "--json")
    refuse_deliveries(shop, 4)

    table = shop.cli("errors")
    as_json = shop.cli("errors", "--json")

    assert (clean.code, clean.json(), clean.err) == (0, [], "")
    assert (table.code, as_json.code, as_json.json()) == (1, 1, [])
    [line] = table.err.strip().splitlines()
    assert line.startswith("shopify-sync: webhooks: 4 webhook deliveries in the last hour")
    assert "SHOPIFY_WEBHOOK_SECRET" in line


def test_auto_link_on_an_empty_database_says_how_products_get_there(shop: Shop) -> None:
    """With no products, the dry run says how they get into product_inventory; with some,
    it says "would link N", and linking fills an empty title from Shopify's."""
    empty = shop.cli("products", "link", "--auto", "--dry-run")
    seed(shop)
    shop.sql("UPDATE product_inventory SET title = 'Our cap' WHERE product_id = 'p-cap'")
    planned = shop.cli("products", "link", "--auto", "--dry-run")
    done = shop.cli("products", "link", "--auto")
    again = shop.cli("products", "link", "--auto", "--dry-run")

    assert empty.code == 0, empty.err
    assert "no products in product_inventory yet" in empty.out
    assert "Inventory Service" in empty.out and "shopify-sync products import" in empty.out
    assert (planned.code, planned.out.strip().splitlines()[-1]) == (
        0, "1 duplicate shopify, would link 2, 1 unmatched, 1 untracked"
    )  # fmt: skip
    assert done.out.strip().splitlines()[-1].startswith("1 duplicate shopify, 2 linked")
    assert shop.sql(
        "SELECT product_id, title FROM product_inventory WHERE product_id IN ('p-mug', 'p-cap')"
        " ORDER BY product_id"
    ) == [("p-cap", "Our cap"), ("p-mug", "Mug")]
    assert again.out.strip().splitlines()[-1] == "1 duplicate shopify, 1 unmatched, 1 untracked"


def test_enable_disable_and_retry_several_products_at_once(shop: Shop) -> None:
    """`products enable A B`, `disable --all`, `enable --linked` and `retry --errors` act on
    several products in one command; ids and a filter together are a usage error (exit 2)."""
    seed(shop)
    shop.cli("products", "link", "--auto")

    two = shop.cli("products", "enable", "p-mug", "p-cap")
    off = shop.cli("products", "disable", "--all")
    linked = shop.cli("products", "enable", "--linked", "--no-push")
    both = shop.cli("products", "enable", "p-mug", "--all")
    shop.sql(
        "UPDATE product_inventory SET sync_error = 'could not read Shopify', sync_attempts = 1,"
        " next_attempt_at = '2099-01-01 00:00:00.000000' WHERE product_id IN ('p-mug', 'p-cap')"
    )
    retried = shop.cli("retry", "--errors")
    several = shop.cli("retry", "p-mug", "p-cap", "--no-push")
    unknown = shop.cli("retry", "p-mug", "ghost")

    assert (two.code, two.out.splitlines()[0]) == (0, "enabled 2 product(s)"), two.err
    assert "synced p-mug: pushed" in two.out and "synced p-cap: in_sync" in two.out
    assert (off.code, off.out.splitlines()[0]) == (0, "disabled 2 product(s); 3 already were")
    assert (linked.code, linked.out.splitlines()[0]) == (0, "enabled 2 product(s)")
    assert both.code == 2
    assert (retried.code, retried.out.splitlines()[0]) == (0, "retried 2 product(s)")
    assert (several.code, several.out.strip()) == (0, "retried 2 product(s)")
    assert (unknown.code, "ghost" in unknown.err) == (3, True)
    assert shop.sql("SELECT count(*) FROM product_inventory WHERE sync_error IS NOT NULL") == [(0,)]


def test_log_table_is_readable_100_columns_wide() -> None:
    """On a 100-column terminal no time, product, change or source is cut, no line is
    wider, and a long reference folds instead of disappearing."""
    reference = "6f1c3a9e-0d7b-4e8e-9a51-2b0c7d4f1e22"
    at = datetime(2026, 12, 2, 9, 43, 50, tzinfo=UTC)
    entries = [
        LogEntry(2, ProductId("prod_001"), "outbound", "pending", "b2c_stock", 20, 17, -3,
                 reference, f"set Shopify available 20 -> 17 (gid://shopify-sync/SyncBatch/"
                 f"{reference})", at),
        LogEntry(1, ProductId("prod_001"), "local", "db:direct", "b2c_stock", 20, 17, -3, None,
                 None, at),
    ]  # fmt: skip
    console = Console(width=100, record=True, file=io.StringIO())

    console.print(log_table(entries))
    text = console.export_text()

    assert max(len(line) for line in text.splitlines()) <= 100
    assert "…" not in text
    assert f"{at.astimezone():%Y-%m-%d %H:%M:%S}" in text
    assert "b2c_stock 20 -> 17 (-3)" in text and "outbound pending" in text
    details = "".join(line.split("│")[-2].strip() for line in text.splitlines() if "│" in line)
    assert reference in details


def test_sync_all_dry_run_prints_a_table_without_none(shop: Shop) -> None:
    """The dry run is a table: a change of ours says what would be set on Shopify, one made
    only on Shopify says there is nothing to write; no cell says None."""
    seed(shop)
    shop.cli("products", "link", "--auto")
    shop.cli("products", "enable", "p-mug", "p-cap")
    shop.sql("UPDATE product_inventory SET b2c_stock = 9 WHERE product_id = 'p-mug'")
    shop.sim("POST", "/merchant/set", json={"sku": "CAP-1", "available": 3,
                                             "location_id": shop.location})  # fmt: skip

    planned = shop.cli("sync", "--all", "--dry-run")

    assert planned.code == 0, planned.err
    lines = planned.out.splitlines()
    assert lines[0].strip() == "2 product(s) differ (dry run: nothing written)"
    assert "None" not in planned.out
    [mug] = [line for line in lines if "p-mug" in line]
    [cap] = [line for line in lines if "p-cap" in line]
    assert "set 9" in mug and "nothing to write" in cap
