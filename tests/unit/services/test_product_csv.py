"""Importing and exporting products as CSV, all rows or none (services.product_csv)."""

from __future__ import annotations

import pytest

from shopify_sync.domain.allocation import DEFAULT_ALLOCATION, Allocation
from shopify_sync.domain.commands import ImportProducts
from shopify_sync.domain.model import Product
from shopify_sync.errors import WriteInFlight
from shopify_sync.services import product_csv
from shopify_sync.services.product_csv import (
    CSV_COLUMNS,
    FieldChange,
    ImportReport,
    ProductRow,
    RowError,
)
from shopify_sync.types import ProductId, VariantId
from tests.factories import push_start
from tests.unit.services.admin_data import add_product, log_of, product
from tests.unit.services.conftest import World
from tests.unit.services.shop_fakes import _shop_world, shop  # noqa: F401  (a fixture)

pytestmark = pytest.mark.anyio

HEADER = "product_id,sku,b2b_stock,b2c_stock,variant,sync_enabled\n"


async def run_import(
    world: World,
    text: str,
    *,
    dry_run: bool = False,
    push: bool = True,
    default: Allocation = DEFAULT_ALLOCATION,
) -> ImportReport:
    """Import through the use case."""
    return await product_csv.import_products(
        ImportProducts(text, dry_run=dry_run, push=push, reference="csv:test"),
        world.uow, world.store, world.engine, world.clock, default,
    )  # fmt: skip


# -- the file format -----------------------------------------------------------------------


def test_parse_reads_every_column() -> None:
    """A full row becomes a ProductRow; blanks mean "leave as it is"."""
    text = "\ufeff" + HEADER + "p1,SKU-1,5,3,gid://shopify/ProductVariant/7,yes\np2,,,,,\n\n"

    rows, errors = product_csv.parse_product_csv(text)

    assert ([], [
        ProductRow(2, ProductId("p1"), "SKU-1", 5, 3, VariantId(7), True),
        ProductRow(3, ProductId("p2")),
    ]) == (errors, rows)  # fmt: skip


def test_parse_accepts_a_subset_of_columns() -> None:
    """Only product_id is required; columns may come in any order."""
    rows, errors = product_csv.parse_product_csv("B2C_STOCK, Product_ID\n4,p1\n")

    assert ([], [ProductRow(2, ProductId("p1"), b2c_stock=4)]) == (errors, rows)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sku\nA\n", "the header must name product_id"),
        ("", "the header must name product_id"),
        ("product_id,colour\np,red\n", "unknown column(s) colour"),
        ("product_id,sku,sku\np,a,b\n", "repeated column(s) sku"),
    ],
)
def test_parse_refuses_a_bad_header(text: str, message: str) -> None:
    """A header without product_id, or with unknown or repeated columns, is one error."""
    rows, errors = product_csv.parse_product_csv(text)

    assert rows == []
    assert [e.line for e in errors] == [1] and message in errors[0].message


def test_parse_reports_one_error_per_bad_row() -> None:
    """Each bad row gets an error naming its line, and the good rows are still read."""
    text = HEADER + "\n".join(
        [
            "ok,,1,1,,",
            ",,1,1,,",
            "n1,,x,1,,",
            "n2,,1,-1,,",
            "n3,,1,1,abc,",
            "n4,,1,1,,maybe",
            "n5,,1",
            "ok,,2,2,,",
        ]
    )

    rows, errors = product_csv.parse_product_csv(text)

    assert [r.product_id for r in rows] == ["ok"]
    assert [
        RowError(3, "product_id is empty"),
        RowError(4, "b2b_stock 'x' is not a whole number", "n1"),
        RowError(5, "b2c_stock -1 is outside 0..1000000000", "n2"),
        RowError(6, "variant 'abc' is not a variant id (123 or gid://shopify/ProductVariant/123)",
                 "n3"),
        RowError(7, "sync_enabled 'maybe' is not true or false", "n4"),
        RowError(8, "3 cells where the header has 6"),
        RowError(9, "product ok is already on line 2", "ok"),
    ] == errors  # fmt: skip


async def test_export_then_import_changes_nothing(shop_world: World) -> None:
    """An exported file imports back as all unchanged."""
    variant = shop(shop_world).add_variant("R-1")
    await add_product(shop_world, sku="R-1", variant=variant.id, item=variant.inventory_item_id)
    await add_product(shop_world, sku='Comma, "quoted"', enabled=False)
    chunks = [c async for c in product_csv.export_products(shop_world.uow)]

    report = await run_import(shop_world, "".join(text for _, text in chunks))

    assert ([n for n, _ in chunks], chunks[0][1]) == ([0, 2], ",".join(CSV_COLUMNS) + "\n")
    assert (report.applied, report.changes, report.unchanged, report.errors) == (True, (), 2, ())


def test_export_keeps_a_malformed_variant_as_it_is() -> None:
    """A variant the Inventory Service wrote in an odd form is exported verbatim."""
    odd = Product(ProductId("p"), None, None, 1, 2, "not-a-number", None, True, None, 0, None,
                  None, None, None)  # fmt: skip

    row = product_csv.encode_product_csv([odd], header=False, default=DEFAULT_ALLOCATION)

    assert (
        row
        == 'p,,1,2,not-a-number,true,split,0,none,"Shopify shows 2: pool 2 (b2c_stock, split)"\n'
    )


# -- import --------------------------------------------------------------------------------


async def test_dry_run_shows_the_diff_and_writes_nothing(shop_world: World) -> None:
    """A dry run lists each change (old and new values) and leaves the database alone."""
    await add_product(shop_world, product_id="p1", sku="A", b2b=5, b2c=3, enabled=False)

    report = await run_import(shop_world, HEADER + "p1,A,5,4,,true\np2,B,1,1,,\n", dry_run=True)

    assert (report.dry_run, report.applied) == (True, False)
    assert [
        ("p1", False, (FieldChange("b2c_stock", 3, 4), FieldChange("sync_enabled", False, True))),
        ("p2", True, (FieldChange("sku", None, "B"), FieldChange("b2b_stock", 0, 1),
                      FieldChange("b2c_stock", 0, 1))),
    ] == [(c.product_id, c.created, c.changes) for c in report.changes]  # fmt: skip
    assert (await product(shop_world, "p1")).b2c_stock == 3


async def test_import_applies_every_row_as_admin_changes(shop_world: World) -> None:
    """Applying sets stocks (logged as admin), links variants, creates new products."""
    variant = shop(shop_world).add_variant("NEW", 2)
    await add_product(shop_world, product_id="p1", b2c=3)

    report = await run_import(
        shop_world, HEADER + f"p1,,,9,,\np2,NEW,4,6,{variant.id},true\np3,,,,,\n"
    )

    assert (report.applied, len(report.changes)) == (True, 3)
    assert [(r.product_id, r.action) for r in report.synced] == [("p2", "pushed")]
    assert (
        (await product(shop_world, "p1")).b2c_stock,
        shop(shop_world).available(variant.inventory_item_id),
        (await product(shop_world, "p3")).product_id == "p3",
    ) == (9, 6, True)
    assert [
        (e.source, e.reference, e.old_value, e.new_value)
        for e in await log_of(shop_world, "p1")
        if e.field == "b2c_stock" and e.source == "admin"
    ] == [("admin", "csv:test", 3, 9)]


async def test_import_relinks_an_existing_product(shop_world: World) -> None:
    """A new variant for an existing product relinks it, restarting the agreed base."""
    old, new = shop(shop_world).add_variant("O"), shop(shop_world).add_variant("N")
    await add_product(shop_world, product_id="p", variant=old.id, item=old.inventory_item_id,
                      base=10, enabled=False)  # fmt: skip

    report = await run_import(shop_world, f"product_id,variant\np,{new.id}\n")

    after = await product(shop_world, "p")
    assert (True, new.inventory_item_id, None) == (
        report.applied, after.inventory_item_id, after.shopify_base,
    )  # fmt: skip
    assert [f"CSV line 2: variant {old.id} -> {new.id}"] == [
        e.detail for e in await log_of(shop_world, "p") if e.field == "import"
    ]


async def test_import_log_says_set_for_a_first_value_never_none(shop_world: World) -> None:
    """A new product's SKU is logged as set (never ``sku None -> ...``), a changed one with
    both values, a cleared one as cleared."""
    await add_product(shop_world, product_id="old", sku="A-1")
    await add_product(shop_world, product_id="gone", sku="B-1")

    await run_import(shop_world, "product_id,sku\nfresh,SKU-000001\nold,A-2\n", push=False)
    cleared = product_csv.describe_change("sku", "B-1", "")

    details = {
        pid: [e.detail for e in await log_of(shop_world, pid) if e.field == "import"]
        for pid in ("fresh", "old")
    }
    assert details == {
        "fresh": ["CSV line 2: sku set to SKU-000001"],
        "old": ["CSV line 3: sku A-1 -> A-2"],
    }
    assert cleared == "sku cleared (was B-1)"


async def test_a_bad_row_applies_nothing(shop_world: World) -> None:
    """One bad row refuses the whole file: the good rows are not applied either."""
    await add_product(shop_world, product_id="p1", b2c=3)

    report = await run_import(shop_world, HEADER + "p1,,,8,,\np2,,,oops,,\n")

    assert (False, [RowError(3, "b2c_stock 'oops' is not a whole number", "p2")]) == (
        report.applied, list(report.errors),
    )  # fmt: skip
    assert (await product(shop_world, "p1")).b2c_stock == 3


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("p1,,,,{unknown},\n", "Shopify has no variant {unknown}"),
        ("p1,,,,{taken},\n", "variant {taken} is linked to product owner"),
        ("p1,,,,{free},\np2,,,,{free},\n", "variant {free} is also given to p1"),
    ],
)
async def test_import_refuses_variants_that_cannot_be_linked(
    shop_world: World, rows: str, message: str
) -> None:
    """Unknown variants and variants given twice are row errors; nothing is applied."""
    fake = shop(shop_world)
    taken, free = fake.add_variant("T"), fake.add_variant("F")
    await add_product(shop_world, product_id="owner", variant=taken.id,
                      item=taken.inventory_item_id)  # fmt: skip
    ids = {"unknown": 999, "taken": taken.id, "free": free.id}

    report = await run_import(shop_world, HEADER + rows.format(**ids))

    assert (False, [message.format(**ids)]) == (report.applied, [e.message for e in report.errors])
    async with shop_world.uow() as unit:
        assert await unit.products.get_many(["p1", "p2"]) == []


async def test_import_may_swap_variants_between_products(shop_world: World) -> None:
    """A variant may move to another product when its owner is relinked in the same file."""
    a, b = shop(shop_world).add_variant("A"), shop(shop_world).add_variant("B")
    await add_product(shop_world, product_id="pa", variant=a.id, item=a.inventory_item_id)
    await add_product(shop_world, product_id="pb", variant=b.id, item=b.inventory_item_id)

    report = await run_import(shop_world, f"product_id,variant\npa,{b.id}\npb,{a.id}\n", push=False)

    assert (report.applied, report.errors) == (True, ())
    assert b.inventory_item_id == (await product(shop_world, "pa")).inventory_item_id


async def test_import_refuses_relinking_while_a_write_is_in_flight(shop_world: World) -> None:
    """A product whose push awaits Shopify cannot be relinked by a file meanwhile."""
    old, new = shop(shop_world).add_variant("O"), shop(shop_world).add_variant("N")
    await add_product(shop_world, product_id="p", variant=old.id, item=old.inventory_item_id,
                      base=10)  # fmt: skip
    async with shop_world.uow() as unit:
        await unit.products.begin_pushes(
            "k", [push_start("p", 10, 9, 10, 10)], shop_world.clock.now()
        )
        await unit.commit()

    report = await run_import(shop_world, f"product_id,variant\np,{new.id}\n")

    assert [RowError(2, "a write to Shopify is in flight: relink it once answered", "p")] == list(
        report.errors
    )


# -- allocation columns --------------------------------------------------------------------

ALLOCATION = "product_id,allocation_policy,allocation_buffer,allocation_cap\n"


async def test_import_switches_a_product_to_a_shared_pool(shop_world: World) -> None:
    """A row's new policy moves the units (b2b takes both pools, b2c mirrors what Shopify
    is to show), writes the product's own policy and logs the moves and the change."""
    await add_product(shop_world, product_id="p", b2b=100, b2c=20)

    report = await run_import(shop_world, ALLOCATION + "p,shared,5,50\n", push=False)

    after = await product(shop_world, "p")
    assert (report.applied, report.errors) == (True, ())
    assert (after.allocation_policy, after.allocation_buffer, after.allocation_cap) == (
        "shared", 5, 50,
    )  # fmt: skip
    assert (after.b2b_stock, after.b2c_stock, after.refresh_requested) == (120, 50, True)
    log = await log_of(shop_world, "p")
    assert [(e.field, e.delta) for e in log if e.source == "allocation"] == [
        ("b2b_stock", 20), ("b2c_stock", 30), ("allocation", 0),
    ]  # fmt: skip
    assert [e.detail for e in log if e.field == "allocation"] == [
        "split -> shared, buffer 0 -> 5, cap none -> 50"
    ]


async def test_dry_run_shows_the_allocation_change_and_writes_nothing(shop_world: World) -> None:
    """The dry run lists the policy's cells, the units it would move and the result."""
    await add_product(shop_world, product_id="p", b2b=100, b2c=20)

    report = await run_import(shop_world, ALLOCATION + "p,shared,5,\n", dry_run=True)

    (change,) = report.changes
    assert [d.column for d in change.changes] == ["allocation_policy", "allocation_buffer"]
    assert [(d.column, d.old, d.new) for d in change.moves] == [
        ("b2b_stock", 100, 120), ("b2c_stock", 20, 115),
    ]  # fmt: skip
    assert change.explanation == (
        "Shopify shows 115: pool 120 (b2b_stock, shared) minus buffer 5 = 115"
    )
    assert (await product(shop_world, "p")).allocation_policy is None


async def test_a_bad_allocation_cell_applies_no_row(shop_world: World) -> None:
    """A negative buffer on one row: a row error, and no other row's policy is applied."""
    await add_product(shop_world, product_id="good", b2b=10, b2c=5)
    await add_product(shop_world, product_id="bad", b2b=10, b2c=5)

    report = await run_import(shop_world, ALLOCATION + "good,shared,,\nbad,,-2,\n")

    assert [(e.line, e.product_id) for e in report.errors] == [(3, "bad")]
    assert ((await product(shop_world, "good")).allocation_policy, report.applied) == (
        None, False,
    )  # fmt: skip


async def test_a_new_product_takes_the_rows_allocation_as_its_own(shop_world: World) -> None:
    """A product created by the file with a policy keeps its stocks and owns the policy."""
    report = await run_import(
        shop_world, "product_id,b2b_stock,allocation_policy\nfresh,9,shared\n", push=False
    )

    fresh = await product(shop_world, "fresh")
    assert report.applied and (fresh.allocation_policy, fresh.b2b_stock) == ("shared", 9)


async def test_import_waits_for_a_write_in_flight_then_applies(shop_world: World) -> None:
    """A product with a write awaiting Shopify is switched once the write is answered."""
    await add_product(shop_world, product_id="p", b2b=100, b2c=10, base=10)
    await _start_push(shop_world, "p")
    slept: list[float] = []

    async def answer_then_sleep(seconds: float) -> None:
        slept.append(seconds)
        async with shop_world.uow() as unit:
            await unit.products.abandon_push("k", shop_world.clock.now())
            await unit.commit()

    shop_world.clock.sleep = answer_then_sleep  # type: ignore[method-assign]

    report = await run_import(shop_world, ALLOCATION + "p,shared,,\n", push=False)

    after = await product(shop_world, "p")
    assert (report.applied, len(slept), after.allocation_policy) == (True, 1, "shared")
    assert (after.b2b_stock, after.b2c_stock) == (110, 110)


async def test_import_gives_up_on_a_write_that_stays_in_flight(shop_world: World) -> None:
    """A write never answered: the import says so and changes nothing."""
    await add_product(shop_world, product_id="p", b2b=100, b2c=10, base=10)
    await _start_push(shop_world, "p")

    with pytest.raises(WriteInFlight, match="a write to Shopify for p is still waiting"):
        await run_import(shop_world, ALLOCATION + "p,shared,,\n")

    assert (await product(shop_world, "p")).allocation_policy == "split"  # as it was


async def _start_push(world: World, pid: str) -> None:
    async with world.uow() as unit:
        await unit.products.begin_pushes("k", [push_start(pid, 10, 9, 10, 10)], world.clock.now())
        await unit.commit()
