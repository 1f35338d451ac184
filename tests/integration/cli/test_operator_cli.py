"""The merchant's command line, run as a process against the Shopify simulator.

Covers the seed README's set-up and monitoring steps in order: locations, webhooks, link,
allocate, enable, monitor; plus the CSV import and export, and the exit codes scripts use.
"""

from __future__ import annotations

from pathlib import Path

from shopify_sync.services.linking import BULK_LINK_THRESHOLD
from tests.integration.cli.conftest import Shop

PRODUCTS = (
    "product_id,sku,b2b_stock,b2c_stock,sync_enabled\n"
    "p-mug,MUG-1,50,4,false\n"
    "p-cap,CAP-1,20,7,false\n"
    "p-twin,TWIN,5,1,false\n"
    "p-gift,GIFT,0,0,false\n"
    "p-none,NOPE-9,3,3,false\n"
)


def seed(shop: Shop, text: str = PRODUCTS) -> None:
    """Load our products from a CSV file through the command line."""
    path = shop.cwd / "products.csv"
    path.write_text(text, encoding="utf-8")
    result = shop.cli("products", "import", str(path))
    assert result.code == 0, result.out + result.err


def test_locations_name_the_configured_one(shop: Shop) -> None:
    """`locations` lists every location with its id and marks SHOPIFY_LOCATION_ID."""
    table = shop.cli("locations")
    listed = shop.cli("locations", "--json")

    assert table.code == 0, table.err
    assert f"{shop.location}" in table.out and "<- SHOPIFY_LOCATION_ID" in table.out
    assert [(loc["name"], loc["configured"]) for loc in listed.json()] == [
        ("Main warehouse", True),
        ("Overflow", False),
    ]


def test_webhooks_register_check_and_repair(shop: Shop) -> None:
    """Register is idempotent; check finds a wrong address (exit 1); repair fixes it."""
    address = "http://127.0.0.1:8765"

    first = shop.cli("webhooks", "register", "--address", address)
    again = shop.cli("webhooks", "register", "--address", address, "--json")
    moved = shop.cli("webhooks", "check", "--address", "http://localhost:9999")
    repaired = shop.cli("webhooks", "check", "--address", "http://localhost:9999", "--repair")
    refused = shop.cli("webhooks", "register", "--address", "http://sync.example.com")

    assert (first.code, "created" in first.out, again.code, again.json()["created"]) == (
        0, True, 0, [],
    )  # fmt: skip
    assert (moved.code, moved.out.count("wrong address"), moved.out.count("missing")) == (1, 2, 2)
    assert (repaired.code, repaired.out.count("deleted")) == (0, 2)
    assert sorted(s["address"] for s in shop.sim("GET", "/subscriptions")["subscriptions"]) == [
        "http://localhost:9999/webhooks/inventory-update",
        "http://localhost:9999/webhooks/orders-create",
    ]
    assert (refused.code, "https only" in refused.err) == (2, True)


def test_webhooks_use_public_url_without_address(shop: Shop) -> None:
    """Without --address the commands use PUBLIC_URL; with neither they exit 2 saying so."""
    shop.env["PUBLIC_URL"] = "http://127.0.0.1:8765/"
    registered = shop.cli("webhooks", "register", "--json")
    checked = shop.cli("webhooks", "check")
    del shop.env["PUBLIC_URL"]
    neither = shop.cli("webhooks", "check")

    assert (registered.code, registered.json()["address"], checked.code) == (
        0, "http://127.0.0.1:8765", 0,
    )  # fmt: skip
    assert sorted(s["address"] for s in shop.sim("GET", "/subscriptions")["subscriptions"]) == [
        "http://127.0.0.1:8765/webhooks/inventory-update",
        "http://127.0.0.1:8765/webhooks/orders-create",
    ]
    assert (neither.code, "set PUBLIC_URL" in neither.err) == (2, True)


def test_import_dry_run_shows_the_diff_and_a_bad_row_applies_nothing(shop: Shop) -> None:
    """A dry run prints the diff; a file with one bad row exits 2 and changes nothing."""
    path = shop.cwd / "in.csv"
    path.write_text("product_id,b2c_stock\np1,4\np2,x\n", encoding="utf-8")
    bad = shop.cli("products", "import", str(path))
    path.write_text("product_id,b2c_stock\np1,4\n", encoding="utf-8")
    dry = shop.cli("products", "import", str(path), "--dry-run")
    missing = shop.cli("products", "import", str(shop.cwd / "nowhere.csv"))

    assert (bad.code, "line 3: b2c_stock 'x' is not a whole number" in bad.err) == (2, True)
    assert "NOT applied" in bad.out
    assert (dry.code, "(new product)" in dry.out, "dry run" in dry.out) == (0, True, True)
    assert shop.sql("SELECT count(*) FROM product_inventory") == [(0,)]
    assert missing.code == 2


def test_import_from_stdin_and_export_round_trip(shop: Shop, tmp_path: Path) -> None:
    """Products imported from stdin export back to the same rows."""
    imported = shop.cli("products", "import", "-", "--json", stdin=PRODUCTS)
    out = tmp_path / "out.csv"
    exported = shop.cli("products", "export", "--output", str(out))
    to_stdout = shop.cli("products", "export")

    assert (imported.code, imported.json()["applied"]) == (0, True)
    assert (exported.code, "5 product(s) written" in exported.out) == (0, True)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("product_id,sku,b2b_stock,b2c_stock,variant,sync_enabled,")
    assert any(line.startswith("p-mug,MUG-1,50,4,,false,") for line in lines)
    assert to_stdout.out.splitlines() == lines


def test_auto_link_reports_and_links_only_the_unambiguous(shop: Shop) -> None:
    """--auto --dry-run reports every outcome; --auto links only the clear matches."""
    seed(shop)

    dry = shop.cli("products", "link", "--auto", "--dry-run", "--json")
    done = shop.cli("products", "link", "--auto")
    listed = shop.cli("products", "list", "--unlinked", "--json")

    assert {i["product_id"]: i["outcome"] for i in dry.json()["items"]} == {
        "p-cap": "linked", "p-gift": "untracked", "p-mug": "linked",
        "p-none": "unmatched", "p-twin": "duplicate_shopify",
    }  # fmt: skip
    assert (done.code, "2 linked" in done.out, "1 duplicate shopify" in done.out) == (0, True, True)
    assert sorted(p["product_id"] for p in listed.json()) == ["p-gift", "p-none", "p-twin"]


def test_auto_link_of_a_large_catalogue_reads_shopify_in_bulk(large_shop: Shop) -> None:
    """From 2,000 unlinked products on, --auto links them all through one bulk operation,
    counts the links instead of listing each, and a dry run first changes nothing."""
    shop = large_shop
    rows = shop.sim("GET", f"/levels?limit={BULK_LINK_THRESHOLD}")["levels"]
    values = ", ".join(f"('p{n}', '{row['sku']}')" for n, row in enumerate(rows))
    shop.sql(f"INSERT INTO product_inventory (product_id, sku) VALUES {values}")

    dry = shop.cli("products", "link", "--auto", "--dry-run")
    done = shop.cli("products", "link", "--auto")
    linked = shop.sql(
        "SELECT count(*) FROM product_inventory WHERE shopify_inventory_item_id IS NOT NULL"
    )
    operations = shop.sim("GET", "/state")["counts"]["bulk_operations"]

    assert (dry.code, "2,000 products would be linked" in dry.out) == (0, True)
    assert (done.code, "2,000 products linked" in done.out) == (0, True)
    assert linked == [(BULK_LINK_THRESHOLD,)]
    assert operations == 2


def test_link_by_sku_or_variant_with_exit_codes(shop: Shop) -> None:
    """Link by SKU or variant id; unknown is exit 3, ambiguous or untracked is exit 4."""
    seed(shop)

    by_sku = shop.cli("products", "link", "p-mug", "--sku", "MUG-1")
    by_variant = shop.cli("products", "link", "p-cap", "--variant", str(shop.variant("CAP-1")))
    twin = shop.cli("products", "link", "p-twin", "--sku", "TWIN")
    gift = shop.cli("products", "link", "p-gift", "--sku", "GIFT")
    nope = shop.cli("products", "link", "p-none", "--sku", "NOPE-9")
    ghost = shop.cli("products", "link", "ghost", "--sku", "MUG-1")
    usage = shop.cli("products", "link", "p-mug")
    unlinked = shop.cli("products", "unlink", "p-cap")

    assert (by_sku.code, "linked to variant" in by_sku.out, by_variant.code) == (0, True, 0)
    assert (twin.code, gift.code, nope.code, ghost.code, usage.code) == (4, 4, 3, 3, 2)
    assert "2 Shopify variants share SKU 'TWIN'" in twin.err
    assert unlinked.code == 0 and shop.sql(
        "SELECT shopify_variant_id FROM product_inventory WHERE product_id = 'p-cap'"
    ) == [(None,)]


def test_allocate_enable_and_monitor(shop: Shop) -> None:
    """Enable pushes our B2C stock; allocate moves it on Shopify; log and explain show why."""
    seed(shop)
    shop.cli("products", "link", "p-mug", "--sku", "MUG-1")

    enabled = shop.cli("products", "enable", "p-mug")
    allocated = shop.cli("products", "allocate", "p-mug", "--b2c", "9")
    moved = shop.cli("products", "allocate", "p-mug", "--move", "4", "--to", "b2b", "--json")
    too_many = shop.cli("products", "allocate", "p-mug", "--move", "999", "--to", "b2c")
    log = shop.cli("log", "--product", "p-mug", "--limit", "3", "--json")
    explained = shop.cli("explain", "p-mug")
    as_json = shop.cli("explain", "p-mug", "--json")
    table = shop.cli("log", "--limit", "2")

    assert (enabled.code, "synced p-mug: pushed" in enabled.out) == (0, True)
    assert (allocated.code, "B2C 4 -> 9" in allocated.out) == (0, True)
    assert (moved.code, moved.json()["after"]["b2b_stock"], shop.available("MUG-1")) == (0, 54, 5)
    assert (too_many.code, "b2b holds only 54" in too_many.err) == (2, True)
    assert [(e["direction"], e["source"], e["field"], e["delta"]) for e in log.json()] == [
        ("outbound", "admin", "b2c_stock", -4),
        ("local", "admin", "b2c_stock", -4),
        ("local", "admin", "b2b_stock", 4),
    ]
    assert explained.code == 0, explained.err
    assert "- Both sides agree: the next sync has nothing to do." in explained.out
    assert (as_json.json()["level"]["available"], table.code) == (5, 0)
    assert "outbound" in table.out and "admin" in table.out


def test_errors_and_retry(shop: Shop) -> None:
    """A refused push shows in `errors` (exit 1) until `retry` succeeds (exit 0)."""
    seed(shop)
    shop.cli("products", "link", "p-mug", "--sku", "MUG-1")
    shop.sim("POST", "/faults/api", json={"status": 422, "count": 1, "match": "inventorySet"})

    failed = shop.cli("products", "enable", "p-mug")
    listed = shop.cli("errors")
    retried = shop.cli("retry", "p-mug")
    clean = shop.cli("errors", "--json")
    parked = shop.cli("retry", "--parked")
    usage = shop.cli("retry")
    disabled = shop.cli("products", "disable", "p-mug")
    filtered = shop.cli("products", "list", "--disabled", "--search", "mug")

    assert (failed.code, listed.code, "p-mug" in listed.out) == (1, 1, True)
    assert (retried.code, "synced p-mug: pushed" in retried.out) == (0, True)
    assert (clean.code, clean.json(), parked.code, usage.code) == (0, [], 0, 2)
    assert (disabled.code, "sync off" in disabled.out, "p-mug" in filtered.out) == (0, True, True)
    assert shop.available("MUG-1") == 4


def test_allocate_changes_the_policy_and_refuses_bad_values(shop: Shop) -> None:
    """`allocate --policy/--buffer/--cap` shows the change and why Shopify shows what it
    does; a bad value exits 2 with one line and changes nothing."""
    seed(shop)

    shared = shop.cli("products", "allocate", "p-mug", "--policy", "shared", "--buffer", "5",
                      "--cap", "40", "--no-push")  # fmt: skip
    uncapped = shop.cli("products", "allocate", "p-mug", "--no-cap", "--no-push", "--json")
    bad = [
        shop.cli("products", "allocate", "p-mug", "--policy", "pooled", "--no-push"),
        shop.cli("products", "allocate", "p-mug", "--buffer", "-1", "--no-push"),
        shop.cli("products", "allocate", "p-mug", "--cap", "-3", "--no-push"),
        shop.cli("products", "allocate", "p-mug", "--cap", "3", "--b2c", "1", "--no-push"),
    ]
    row = shop.sql(
        "SELECT b2b_stock, b2c_stock, allocation_policy, allocation_buffer, allocation_cap"
        " FROM product_inventory WHERE product_id = 'p-mug'"
    )

    assert shared.code == 0, shared.err
    assert "p-mug: split -> shared, buffer 5, cap 40; B2B 50 -> 54, B2C 4 -> 40" in shared.out
    assert "Shopify shows 40: pool 54 (b2b_stock, shared) minus buffer 5 = 49" in shared.out
    # The same policy keeps the stocks; b2c_stock mirrors 49 once Shopify is told.
    assert (uncapped.code, uncapped.json()["after"]["b2c_stock"]) == (0, 40)
    assert uncapped.json()["explanation"].startswith("Shopify shows 49: pool 54")
    for result in bad:
        assert result.code == 2, result.out + result.err
        assert len(result.err.strip().splitlines()) == 1, result.err
    assert "unknown allocation policy 'pooled'" in bad[0].err
    assert row == [(54, 40, "shared", 5, None)]
