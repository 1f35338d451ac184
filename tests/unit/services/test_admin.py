"""The operator's use cases: browse, allocate, enable, retry, explain (services.admin)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text

from shopify_sync.domain.allocation import Allocation
from shopify_sync.domain.commands import Allocate, RetryProducts, SetSyncEnabled
from shopify_sync.domain.model import Change, SyncFailure
from shopify_sync.errors import InvalidQuantity, UnknownProduct
from shopify_sync.services import admin
from shopify_sync.services.admin import ProductFilter
from shopify_sync.types import ProductId
from tests.factories import pulled, push_start
from tests.fakes import unavailable
from tests.unit.services.admin_data import add_product, log_of, product
from tests.unit.services.conftest import World
from tests.unit.services.shop_fakes import _shop_world, shop  # noqa: F401  (a fixture)

pytestmark = pytest.mark.anyio


async def linked(world: World, *, b2c: int = 10, shopify: int = 10, base: int | None = 10) -> str:
    """An enabled product linked to a fresh variant that Shopify stocks at ``shopify``."""
    variant = shop(world).add_variant(None, shopify)
    return await add_product(
        world, b2c=b2c, variant=variant.id, item=variant.inventory_item_id, base=base
    )


# -- browsing ------------------------------------------------------------------------------


async def test_list_products_filters_and_counts(shop_world: World) -> None:
    """Filters narrow the page while the counts describe the whole catalogue."""
    ok = await linked(shop_world)
    loose = await add_product(shop_world, sku="LOOSE-1", enabled=False)

    unlinked = await admin.list_products(shop_world.uow, ProductFilter(unlinked=True))
    linked_page = await admin.list_products(shop_world.uow, ProductFilter(linked=True))
    disabled = await admin.list_products(shop_world.uow, ProductFilter(disabled=True))
    search = await admin.list_products(shop_world.uow, ProductFilter(search=" loose "))

    assert [loose] == [p.product_id for p in unlinked.products]
    assert [ok] == [p.product_id for p in linked_page.products]
    assert [loose] == [p.product_id for p in disabled.products]
    assert [loose] == [p.product_id for p in search.products]
    assert (
        unlinked.counts["total"],
        unlinked.counts["linked"],
        unlinked.counts["enabled"],
    ) == (2, 1, 1)


async def test_list_products_pages_by_id(shop_world: World) -> None:
    """A page says where the next one starts, and the last page says there is none."""
    ids = sorted([await add_product(shop_world) for _ in range(3)])

    first = await admin.list_products(shop_world.uow, ProductFilter(), limit=2)
    second = await admin.list_products(shop_world.uow, ProductFilter(), after=first.next_after)

    assert (ids[:2], ids[1]) == ([p.product_id for p in first.products], first.next_after)
    assert ([ids[2]], None) == ([p.product_id for p in second.products], second.next_after)


async def test_walk_products_yields_every_page(shop_world: World) -> None:
    """Walking the catalogue visits every product once, a page at a time."""
    ids = sorted([await add_product(shop_world) for _ in range(5)])

    pages = [p async for p in admin.walk_products(shop_world.uow, ProductFilter(), page_size=2)]

    assert [len(p) for p in pages] == [2, 2, 1]
    assert ids == [p.product_id for page in pages for p in page]


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"parked_at": Change, "sync_error": "x"}, "parked"),
        ({"sync_error": "x"}, "error"),
        ({"shopify_variant_id": None, "inventory_item_id": None}, "unlinked"),
        ({"sync_enabled": False}, "disabled"),
        ({"push_key": "k"}, "in flight"),
        ({"b2c_stock": 3}, "pending"),
        ({"refresh_requested": True}, "pending"),
        ({}, "ok"),
    ],
)
async def test_product_status_names_the_most_urgent_state(
    shop_world: World, changes: dict[str, object], status: str
) -> None:
    """A product's status is its most urgent state: parked, error, unlinked ... ok."""
    pid = await linked(shop_world)
    stored = await product(shop_world, pid)
    values = {k: (shop_world.clock.now() if v is Change else v) for k, v in changes.items()}

    assert admin.product_status(replace(stored, **values)) == status  # type: ignore[arg-type]


async def test_get_product_refuses_an_unknown_id(shop_world: World) -> None:
    """Asking for a product that does not exist raises UnknownProduct."""
    with pytest.raises(UnknownProduct):
        await admin.get_product(shop_world.uow, "nope")


async def test_get_product_returns_the_stored_row(shop_world: World) -> None:
    """Asking for a product returns it as stored."""
    pid = await add_product(shop_world, sku="G-1")

    found = await admin.get_product(shop_world.uow, pid)

    assert (pid, "G-1") == (found.product_id, found.sku)


async def test_product_counts_count_the_catalogue(shop_world: World) -> None:
    """The counts include every product."""
    await add_product(shop_world)

    counts = await admin.product_counts(shop_world.uow)

    assert counts["total"] == 1


async def test_recent_log_and_errors_answer_the_seed_monitoring_queries(shop_world: World) -> None:
    """The log lists changes newest first and errors lists products whose sync failed."""
    pid = await linked(shop_world)
    broken = await add_product(shop_world, variant=999, item=12345, base=3)
    await shop_world.engine.sync([await product(shop_world, broken)], source="test")
    await admin.allocate(
        Allocate(ProductId(pid), b2c=7, push=False), shop_world.uow, shop_world.engine,
        shop_world.clock,
    )  # fmt: skip

    log = await admin.recent_log(shop_world.uow, product_id=pid, limit=1)
    errors = await admin.products_with_errors(shop_world.uow)

    assert [(e.source, e.old_value, e.new_value) for e in log] == [("admin", 10, 7)]
    assert [broken] == [p.product_id for p in errors]


# -- allocate ------------------------------------------------------------------------------


async def test_allocate_b2c_is_logged_as_admin_and_pushed(shop_world: World) -> None:
    """Setting the B2C stock logs an admin change and pushes it to Shopify at once."""
    pid = await linked(shop_world)
    item = (await product(shop_world, pid)).inventory_item_id
    assert item is not None

    result = await admin.allocate(
        Allocate(ProductId(pid), b2c=4, reference="cli"), shop_world.uow, shop_world.engine,
        shop_world.clock,
    )  # fmt: skip

    assert result.sync is not None and result.sync.action == "pushed"
    assert (
        result.before.b2c_stock,
        result.after.b2c_stock,
        shop(shop_world).available(item),
    ) == (10, 4, 4)
    assert [
        (e.direction, e.field, e.reference, e.delta)
        for e in await log_of(shop_world, pid)
        if e.source == "admin" and e.direction == "local"
    ] == [("local", "b2c_stock", "cli", -6)]


async def test_allocate_without_push_leaves_the_change_pending(shop_world: World) -> None:
    """With push off, the change waits for the service's pending scan."""
    pid = await linked(shop_world)

    result = await admin.allocate(
        Allocate(ProductId(pid), b2b=50, b2c=12, push=False), shop_world.uow, shop_world.engine,
        shop_world.clock,
    )  # fmt: skip

    assert (
        result.sync, result.after.b2b_stock, result.after.b2c_stock, result.after.pending,
    ) == (None, 50, 12, True)  # fmt: skip


@pytest.mark.parametrize(("to", "b2b", "b2c"), [("b2c", 95, 15), ("b2b", 105, 5)])
async def test_allocate_moves_units_between_channels(
    shop_world: World, to: str, b2b: int, b2c: int
) -> None:
    """Moving units takes them from one channel and gives them to the other."""
    pid = await add_product(shop_world, b2b=100, b2c=10)

    result = await admin.allocate(
        Allocate(ProductId(pid), move=5, to=to), shop_world.uow, shop_world.engine,  # type: ignore[arg-type]
        shop_world.clock,
    )  # fmt: skip

    assert (b2b, b2c) == (result.after.b2b_stock, result.after.b2c_stock)


@pytest.mark.parametrize(
    ("cmd", "message"),
    [
        (Allocate(ProductId("p"), move=11, to="b2b"), "b2c holds only 10"),
        (Allocate(ProductId("p"), move=0, to="b2b"), "positive number"),
        (Allocate(ProductId("p"), move=1), "--to"),
        (Allocate(ProductId("p"), move=1, to="b2c", b2c=3), "not both"),
        (Allocate(ProductId("p")), "nothing to allocate"),
        (Allocate(ProductId("p"), b2c=-1), "between 0"),
        (Allocate(ProductId("p"), b2b=2_000_000_000), "between 0"),
    ],
)
async def test_allocate_refuses_impossible_figures(
    shop_world: World, cmd: Allocate, message: str
) -> None:
    """A negative, too large, empty or uncovered allocation changes nothing and says why."""
    await add_product(shop_world, product_id="p", b2b=100, b2c=10)

    with pytest.raises(InvalidQuantity, match=message):
        await admin.allocate(cmd, shop_world.uow, shop_world.engine, shop_world.clock)

    assert ((p := await product(shop_world, "p")).b2b_stock, p.b2c_stock) == (100, 10)


async def test_allocate_refuses_an_unknown_product(shop_world: World) -> None:
    """Allocating to a product that does not exist raises UnknownProduct."""
    with pytest.raises(UnknownProduct):
        await admin.allocate(
            Allocate(ProductId("ghost"), b2c=1), shop_world.uow, shop_world.engine,
            shop_world.clock,
        )  # fmt: skip


# -- enable / disable ----------------------------------------------------------------------


async def test_enable_logs_and_syncs_at_once(shop_world: World) -> None:
    """Turning sync on is logged and runs the product's first sync right away."""
    variant = shop(shop_world).add_variant("E-1", 3)
    pid = await add_product(
        shop_world, b2c=8, variant=variant.id, item=variant.inventory_item_id, enabled=False
    )

    result = await admin.set_sync_enabled(
        SetSyncEnabled(ProductId(pid), True), shop_world.uow, shop_world.engine, shop_world.clock
    )

    assert result.sync is not None and result.sync.action == "pushed"
    assert shop(shop_world).available(variant.inventory_item_id) == 8
    assert [e.detail for e in await log_of(shop_world, pid) if e.field == "sync_enabled"] == [
        "sync enabled"
    ]


async def test_disable_never_pushes_and_is_idempotent(shop_world: World) -> None:
    """Turning sync off twice logs one change and talks to Shopify not at all."""
    pid = await linked(shop_world, b2c=9)
    cmd = SetSyncEnabled(ProductId(pid), False)

    await admin.set_sync_enabled(cmd, shop_world.uow, shop_world.engine, shop_world.clock)
    again = await admin.set_sync_enabled(cmd, shop_world.uow, shop_world.engine, shop_world.clock)

    assert (again.after.sync_enabled, again.sync, shop(shop_world).reads) == (False, None, 0)
    assert sum(e.field == "sync_enabled" for e in await log_of(shop_world, pid)) == 1


# -- retry ---------------------------------------------------------------------------------


async def test_retry_one_clears_the_failure_and_syncs(shop_world: World) -> None:
    """Retrying a failed product forgets the failure and syncs it again now."""
    pid = await linked(shop_world, b2c=6, shopify=5, base=5)
    shop(shop_world).fail_next.append(unavailable())
    await shop_world.engine.sync([await product(shop_world, pid)], source="test")
    assert (await product(shop_world, pid)).sync_error is not None

    report = await admin.retry(
        RetryProducts(ProductId(pid)), shop_world.uow, shop_world.engine, shop_world.clock
    )

    assert ((pid,), ["pushed"], 0) == (
        report.retried, [r.action for r in report.results], report.failed,
    )  # fmt: skip
    assert ((p := await product(shop_world, pid)).sync_error, p.sync_attempts) == (None, 0)


async def test_retry_parked_retries_every_parked_product(shop_world: World) -> None:
    """Retrying parked products clears them all and queues a re-read when not pushed."""
    ghost = await add_product(shop_world, variant=1, item=404, base=1)
    fine = await linked(shop_world)
    await shop_world.engine.sync([await product(shop_world, ghost)], source="test")
    assert (await product(shop_world, ghost)).parked_at is not None

    report = await admin.retry(
        RetryProducts(parked=True, push=False), shop_world.uow, shop_world.engine, shop_world.clock
    )

    assert ((ghost,), ()) == (report.retried, report.results)
    assert ((p := await product(shop_world, ghost)).parked_at, p.refresh_requested) == (None, True)
    assert not (await product(shop_world, fine)).refresh_requested


async def test_retry_refuses_an_unknown_product(shop_world: World) -> None:
    """Retrying a product that does not exist raises UnknownProduct."""
    with pytest.raises(UnknownProduct):
        await admin.retry(
            RetryProducts(ProductId("ghost")), shop_world.uow, shop_world.engine, shop_world.clock
        )


# -- explain -------------------------------------------------------------------------------


async def explained(world: World, pid: str) -> list[str]:
    """The explanation's sentences, but for the allocation's (tested on its own below)."""
    lines = (await admin.explain(pid, world.uow, world.store)).lines
    return [line for line in lines if not line.startswith("By its allocation: ")]


async def test_explain_says_how_the_allocation_publishes(shop_world: World) -> None:
    """The product's own allocation, or else the default, and the computation line, after
    Shopify's level."""
    own = await linked(shop_world, b2c=10, shopify=10, base=10)
    without = await linked(shop_world, b2c=4, shopify=4, base=4)
    async with shop_world.uow.engine.begin() as c:
        await c.execute(
            text(
                "UPDATE product_inventory SET allocation_policy = 'shared', allocation_buffer = 5,"
                " allocation_cap = 50, b2b_stock = 12 WHERE product_id = :p"
            ),
            {"p": own},
        )
        # Never synced under a policy: the settings' default applies.
        await c.execute(
            text("UPDATE product_inventory SET allocation_policy = NULL WHERE product_id = :p"),
            {"p": without},
        )

    mine = await admin.explain(own, shop_world.uow, shop_world.store)
    default = await admin.explain(
        without, shop_world.uow, shop_world.store, default=Allocation("split", 1)
    )

    assert (mine.allocation, mine.published) == (
        Allocation("shared", 5, 50),
        "Shopify shows 7: pool 12 (b2b_stock, shared) minus buffer 5 = 7; cap 50 not reached",
    )
    assert mine.lines[1] == f"By its allocation: {mine.published}."
    assert default.published == "Shopify shows 3: pool 4 (b2c_stock, split) minus buffer 1 = 3"


async def test_explain_in_sync(shop_world: World) -> None:
    """A product both sides agree on is explained as needing nothing."""
    pid = await linked(shop_world, b2c=10, shopify=10, base=10)

    lines = await explained(shop_world, pid)

    assert lines == [
        "Shopify shows 10 available at our location.",
        "We hold 10 for B2C (and 100 for B2B).",
        "The last quantity both sides agreed on is 10.",
        "Both sides agree: the next sync has nothing to do.",
    ]


async def test_explain_changes_on_both_sides(shop_world: World) -> None:
    """Changes on both sides since the agreement are named, with what the next sync does."""
    pid = await linked(shop_world, b2c=12, shopify=7, base=10)

    lines = await explained(shop_world, pid)

    assert lines == [
        "Shopify shows 7 available at our location.",
        "We hold 12 for B2C (and 100 for B2B).",
        "The last quantity both sides agreed on is 10.",
        "Our B2C stock changed by +2 since then; it is not pushed yet.",
        "Shopify changed by -3 since then (sales or edits there not applied yet: a webhook is "
        "on its way, or was lost).",
        "The next sync will set Shopify to 9 and move our B2C stock by -3: both sides then hold 9.",
    ]


async def test_explain_a_shopify_change_only(shop_world: World) -> None:
    """When only Shopify moved, the next sync leaves Shopify alone and takes its change."""
    pid = await linked(shop_world, b2c=10, shopify=8, base=10)

    lines = await explained(shop_world, pid)

    assert lines[-1] == (
        "The next sync will leave Shopify as it is and move our B2C stock by -2: both sides "
        "then hold 8."
    )


async def test_explain_an_oversold_product(shop_world: World) -> None:
    """Both channels selling the same units is called out."""
    pid = await linked(shop_world, b2c=0, shopify=-1, base=1)

    lines = await explained(shop_world, pid)

    assert lines[-1] == (
        "Both channels sold the same units: the merged quantity is negative (oversold)."
    )


@pytest.mark.parametrize(
    ("source", "sentence"),
    [
        ("b2b", "Never synced: at the first sync our B2C stock is pushed to Shopify."),
        ("shopify", "Never synced: at the first sync Shopify's quantity is taken as ours."),
    ],
)
async def test_explain_a_first_sync(shop_world: World, source: str, sentence: str) -> None:
    """Before the first sync, the explanation says which side will win."""
    pid = await linked(shop_world, b2c=4, shopify=6, base=None)

    explanation = await admin.explain(
        pid,
        shop_world.uow,
        shop_world.store,
        initial_source=source,  # type: ignore[arg-type]
    )

    assert sentence in explanation.lines


async def test_explain_an_unlinked_disabled_product(shop_world: World) -> None:
    """An unlinked, disabled product is told how to be linked and that sync is off."""
    pid = await add_product(shop_world, enabled=False)

    explanation = await admin.explain(pid, shop_world.uow, shop_world.store)

    assert (explanation.level, explanation.next_sync) == (None, None)
    assert explanation.lines[:2] == (
        f"Not linked to a Shopify variant: link it (shopify-sync products link {pid} --sku SKU, "
        "or on its admin page) to sync it.",
        "Sync is disabled: Shopify keeps its own quantity until sync is enabled.",
    )


async def test_explain_a_variant_not_resolved_yet(shop_world: World) -> None:
    """A product linked by variant only is told its item is resolved at the next sync."""
    pid = await add_product(shop_world, variant=77)

    lines = await explained(shop_world, pid)

    assert lines[0] == "Linked to variant 77; its inventory item is resolved at the next sync."


async def test_explain_reports_shopify_failures_instead_of_failing(shop_world: World) -> None:
    """When Shopify cannot be read, the explanation says so and still shows our side."""
    pid = await linked(shop_world)
    shop(shop_world).fail_next.append(unavailable())

    explanation = await admin.explain(pid, shop_world.uow, shop_world.store)

    assert explanation.shopify_error == "Shopify answered 503 Service Unavailable"
    assert "We hold 10 for B2C (and 100 for B2B)." in explanation.lines


@pytest.mark.parametrize(
    ("kind", "sentence"),
    [
        ("unknown", "Shopify has no inventory item {item}: the link is stale; relink the product."),
        ("untracked",
         "Shopify does not track inventory for item {item}: turn tracking on in Shopify."),
        ("unstocked", "Item {item} is not stocked at our location: stock it there in Shopify."),
    ],
)  # fmt: skip
async def test_explain_items_shopify_cannot_sync(
    shop_world: World, kind: str, sentence: str
) -> None:
    """An item Shopify does not know, track or stock here is named with the fix."""
    fake = shop(shop_world)
    variant = fake.add_variant(
        None, None if kind == "unstocked" else 3, tracked=kind != "untracked"
    )
    if kind == "unknown":
        del fake.items[variant.inventory_item_id]
    pid = await add_product(shop_world, variant=variant.id, item=variant.inventory_item_id, base=3)

    lines = await explained(shop_world, pid)

    assert sentence.format(item=variant.inventory_item_id) == lines[0]


async def test_explain_parked_with_a_write_in_flight(shop_world: World) -> None:
    """A write awaiting its answer, a queued re-read and parking are all explained."""
    pid = await linked(shop_world, b2c=6, shopify=5, base=5)
    async with shop_world.uow() as unit:
        await unit.products.begin_pushes(
            "k-1", [push_start(pid, 5, 6, 5, 6)], shop_world.clock.now()
        )
        await unit.products.request_refresh([pid], shop_world.clock.now())
        await unit.products.record_failures(
            [SyncFailure(ProductId(pid), "boom", None)], shop_world.clock.now()
        )
        await unit.commit()

    lines = await explained(shop_world, pid)

    assert lines[-3:] == [
        "A write to Shopify is waiting for its answer: set 6 where Shopify held 5 (key k-1); it "
        "is resent with the same key until Shopify answers, so it never counts twice.",
        "A re-read of Shopify's level is queued (a webhook or an order asked for it).",
        f"Parked after 1 failed attempt(s): fix the cause, then retry it (shopify-sync retry "
        f"{pid}, or Retry on the admin page).",
    ]


async def test_explain_a_failure_being_retried(shop_world: World) -> None:
    """A product failing but not parked is told it is retried automatically."""
    pid = await linked(shop_world, b2c=6, shopify=5, base=5)
    shop(shop_world).fail_next.append(unavailable())
    await shop_world.engine.sync([await product(shop_world, pid)], source="test")

    lines = await explained(shop_world, pid)

    assert lines[-1] == "The last sync failed (1 attempt(s)); retried automatically."


async def test_explain_names_the_last_push_and_webhook(shop_world: World) -> None:
    """The explanation carries the last push to Shopify and the last webhook applied."""
    pid = await linked(shop_world, b2c=6, shopify=5, base=5)
    await shop_world.engine.sync([await product(shop_world, pid)], source="test")
    async with shop_world.uow() as unit:
        await unit.products.apply_inbound(
            [pulled(pid, 6, -1, 5, None, "evt-9")],
            source="webhook:inventory_levels/update",
            now=shop_world.clock.now(),
        )
        await unit.commit()

    explanation = await admin.explain(pid, shop_world.uow, shop_world.store)

    assert explanation.last_push is not None and explanation.last_webhook is not None
    assert (
        explanation.last_push.old_value,
        explanation.last_push.new_value,
        explanation.last_webhook.reference,
    ) == (5, 6, "evt-9")


async def test_explain_refuses_an_unknown_product(shop_world: World) -> None:
    """Explaining a product that does not exist raises UnknownProduct."""
    with pytest.raises(UnknownProduct):
        await admin.explain("ghost", shop_world.uow, shop_world.store)
