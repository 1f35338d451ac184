"""Allocation policies at the command line, run as a process against the Shopify simulator:
`explain` says why Shopify shows what it shows, and the product file carries the policy."""

from __future__ import annotations

from tests.integration.cli.conftest import Shop
from tests.integration.cli.test_operator_cli import seed


def test_explain_shows_the_allocation_and_the_computation(shop: Shop) -> None:
    """`explain` names the product's own allocation and how the published quantity comes
    about (`--json` too), and `products list --policy` lists the products under a policy."""
    seed(shop)
    shop.cli("products", "link", "p-mug", "--sku", "MUG-1")
    allocated = shop.cli(
        "products", "allocate", "p-mug", "--policy", "shared", "--buffer", "5", "--cap", "50"
    )

    explained = shop.cli("explain", "p-mug")
    as_json = shop.cli("explain", "p-mug", "--json")
    shared = shop.cli("products", "list", "--policy", "shared", "--json")
    split = shop.cli("products", "list", "--policy", "split", "--json")
    unknown = shop.cli("products", "list", "--policy", "pooled")

    assert allocated.code == 0, allocated.err
    assert explained.code == 0, explained.err
    line = "Shopify shows 49: pool 54 (b2b_stock, shared) minus buffer 5 = 49; cap 50 not reached"
    assert f"- By its allocation: {line}." in explained.out
    assert "shared, buffer 5, cap 50" in explained.out
    assert (as_json.json()["published"], as_json.json()["allocation"]["policy"]) == (
        line, "shared",
    )  # fmt: skip
    assert [p["product_id"] for p in shared.json()] == ["p-mug"]
    assert "p-mug" not in [p["product_id"] for p in split.json()] and len(split.json()) == 4
    assert (unknown.code, "--policy takes split or shared" in unknown.err) == (2, True)


def test_explain_shows_the_settings_allocation_until_the_first_sync(shop: Shop) -> None:
    """A product without its own allocation is explained with the settings' default."""
    seed(shop)
    shop.env.update(ALLOCATION_BUFFER="2", ALLOCATION_CAP="3")

    explained = shop.cli("explain", "p-cap")

    assert explained.code == 0, explained.err
    assert "split, buffer 2, cap 3 (the settings'; its own from its first sync)" in explained.out
    assert (
        "- By its allocation: Shopify shows 3: pool 7 (b2c_stock, split) minus buffer 2 = 5; "
        "cap 3 reached." in explained.out
    )


def test_product_file_round_trip_and_a_policy_change(shop: Shop) -> None:
    """The export carries the allocation and why; an import of a new policy shows the
    units it moves in the dry run, then applies them; a bad policy is exit 2."""
    seed(shop)
    exported = shop.cli("products", "export")
    path = shop.cwd / "policy.csv"
    path.write_text(
        "product_id,allocation_policy,allocation_buffer\np-mug,shared,5\n", encoding="utf-8"
    )
    bad = shop.cwd / "bad.csv"
    bad.write_text("product_id,allocation_policy\np-mug,pooled\n", encoding="utf-8")

    dry = shop.cli("products", "import", str(path), "--dry-run")
    refused = shop.cli("products", "import", str(bad))
    applied = shop.cli("products", "import", str(path))

    header, *rows = exported.out.splitlines()
    mug = next(row for row in rows if row.startswith("p-mug,"))
    assert header.endswith("allocation_policy,allocation_buffer,allocation_cap,explanation")
    assert (
        mug == 'p-mug,MUG-1,50,4,,false,split,0,none,"Shopify shows 4: pool 4 (b2c_stock, split)"'
    )
    assert dry.code == 0, dry.err
    assert "b2b_stock (moved by the policy)" in dry.out and "not applied (dry run)" in dry.out
    assert (refused.code, "allocation_policy 'pooled' is not split or shared" in refused.err) == (
        2, True,
    )  # fmt: skip
    assert applied.code == 0, applied.err
    assert shop.sql(
        "SELECT allocation_policy, allocation_buffer, b2b_stock, b2c_stock"
        " FROM product_inventory WHERE product_id = 'p-mug'"
    ) == [("shared", 5, 54, 49)]


def test_sync_all_dry_run_shows_the_policys_part(shop: Shop) -> None:
    """A B2B order on a shared pool: the dry run proposes the pool minus the buffer, and
    says so; the table shows the same line."""
    seed(shop)
    shop.cli("products", "link", "p-mug", "--sku", "MUG-1")
    shop.cli("products", "allocate", "p-mug", "--policy", "shared", "--buffer", "5")
    enabled = shop.cli("products", "enable", "p-mug")
    shop.sql("UPDATE product_inventory SET b2b_stock = b2b_stock - 10 WHERE product_id = 'p-mug'")

    planned = shop.cli("sync", "--all", "--dry-run", "--json")
    table = shop.cli("sync", "--all", "--dry-run")

    assert (enabled.code, shop.available("MUG-1")) == (0, 49), enabled.err
    [mug] = planned.json()
    assert (mug["ours"], mug["shopify"], mug["base"], mug["merged"], mug["write"]) == (
        44, 49, 49, 39, 39,
    )  # fmt: skip
    assert mug["why"] == "Shopify shows 39: pool 44 (b2b_stock, shared) minus buffer 5 = 39"
    assert table.code == 0 and "why (allocation)" in table.out and "b2b_stock" in table.out
