"""Webhook use cases: inventory levels and orders, de-duplicated, ordered by Shopify's clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shopify_sync.domain.commands import (
    ApplyInventoryLevel,
    OrderLine,
    RecordOrder,
    SyncProduct,
    WebhookMeta,
)
from shopify_sync.services import handlers
from shopify_sync.types import InventoryItemId, LocationId, ProductId, VariantId
from tests.factories import push_start
from tests.unit.services.conftest import World

pytestmark = pytest.mark.anyio
LOCATION = LocationId(1)


def level(world: World, item: int, available: int | None, *, event: str, age_s: int = 0,
          location: int = 1) -> ApplyInventoryLevel:  # fmt: skip
    meta = WebhookMeta(event, f"w-{event}", "inventory_levels/update", "demo.myshopify.com", None)
    return ApplyInventoryLevel(
        meta,
        InventoryItemId(item),
        LocationId(location),
        available,
        world.clock.now() - timedelta(seconds=age_s),
    )


async def apply(world: World, cmd: ApplyInventoryLevel) -> handlers.WebhookOutcome:
    return await handlers.apply_inventory_level(cmd, world.levels, world.clock, LOCATION)


async def synced(world: World, ours: int) -> tuple[str, int]:
    """A product both sides agree on at ``ours``, last seen one second ago."""
    pid, item = await world.product(ours=ours, base=None, shopify=ours)
    await handlers.sync_product(SyncProduct(ProductId(pid)), world.uow, world.engine)
    world.clock.advance(1)
    return pid, item


async def test_sale_webhook_moves_our_stock(world: World) -> None:
    """Case 3: available 8 after a sale of 2: ours drops by 2, base becomes 8, logged."""
    pid, item = await synced(world, 10)

    outcome = await apply(world, level(world, item, 8, event="e1"))

    assert (outcome.status, await world.row(pid)) == ("processed", (8, 8))
    assert await world.b2c_ledger(pid) == 8


async def test_duplicate_delivery_is_a_no_op(world: World) -> None:
    """Case 8: the same event id again changes nothing."""
    pid, item = await synced(world, 10)
    await apply(world, level(world, item, 8, event="e1"))

    again = await apply(world, level(world, item, 8, event="e1"))

    assert (again.duplicate, await world.row(pid)) == (True, (8, 8))


async def test_echo_of_our_write_changes_nothing(world: World) -> None:
    """Case 6: our own write coming back as a webhook moves nothing."""
    pid, item = await synced(world, 10)

    outcome = await apply(world, level(world, item, 10, event="e-echo"))

    assert (outcome.status, await world.row(pid)) == ("processed", (10, 10))


async def test_pending_change_survives_a_webhook(world: World) -> None:
    """Case 7: available 9 while our +5 is pending: ours 14, base 9, still pending."""
    pid, item = await synced(world, 10)
    await world.set_b2c(pid, 15)

    await apply(world, level(world, item, 9, event="e2"))

    assert await world.row(pid) == (14, 9)


async def test_late_webhook_is_ignored(world: World) -> None:
    """Case 9: a level older than the newest applied is recorded as ignored."""
    pid, item = await synced(world, 10)
    await apply(world, level(world, item, 8, event="new"))

    late = await apply(world, level(world, item, 9, event="old", age_s=5))

    assert (late.status, await world.row(pid)) == ("ignored", (8, 8))


async def test_same_second_webhook_asks_for_a_re_read(world: World) -> None:
    """A level in the same second as the last applied is not guessed: a re-read is owed."""
    pid, item = await synced(world, 10)
    await apply(world, level(world, item, 8, event="a"))

    outcome = await apply(world, level(world, item, 7, event="b"))

    assert (outcome.refresh, await world.row(pid)) == ((ProductId(pid),), (8, 8))


async def test_other_location_and_unknown_items_are_ignored(world: World) -> None:
    """Levels at another location, or for items we do not link, are recorded as ignored."""
    pid, item = await synced(world, 10)

    other = await apply(world, level(world, item, 1, event="x", location=99))
    unknown = await apply(world, level(world, 12345, 1, event="y"))

    assert (other.status, unknown.status, await world.row(pid)) == ("ignored", "ignored", (10, 10))


async def test_webhook_during_a_push_is_deferred(world: World) -> None:
    """A level arriving while our write is in flight is not applied; a re-read follows."""
    pid, item = await synced(world, 10)
    async with world.uow() as unit:
        await unit.products.begin_pushes(
            "k", [push_start(pid, 10, 12, 10, 10, buffer=0)], world.clock.now()
        )
        await unit.commit()

    outcome = await apply(world, level(world, item, 9, event="mid"))

    assert (outcome.refresh, await world.row(pid)) == ((ProductId(pid),), (10, 10))


async def test_first_webhook_before_first_sync_asks_for_it(world: World) -> None:
    """A level for a product never synced triggers the first sync instead of a guess."""
    pid, item = await world.product(ours=5, base=None, shopify=5)

    outcome = await apply(world, level(world, item, 4, event="f"))

    assert (outcome.refresh, await world.row(pid)) == ((ProductId(pid),), (5, None))


async def test_order_is_logged_but_never_subtracted(world: World) -> None:
    """Case 10: orders/create logs the sale and asks for a re-read; stock is not touched."""
    pid, _item = await world.product(ours=10, base=10, shopify=10, variant=77_000_000_001)
    meta = WebhookMeta("o1", "w-o1", "orders/create", "demo.myshopify.com", None)
    order = RecordOrder(
        meta, 450789469, "#1001", False, (OrderLine(1, VariantId(77_000_000_001), "S", 2),)
    )

    outcome = await handlers.record_order(order, world.uow, world.clock)
    again = await handlers.record_order(order, world.uow, world.clock)
    async with world.uow() as unit:
        log = await unit.log.recent(product_id=pid, limit=1)

    assert (outcome.status, outcome.refresh, again.duplicate) == (
        "processed",
        (ProductId(pid),),
        True,
    )
    assert await world.row(pid) == (10, 10)
    assert [(e.source, e.delta, e.reference) for e in log] == [
        ("webhook:orders/create", 0, "gid://shopify/Order/450789469")
    ]


async def test_order_then_re_read_counts_the_sale_once(world: World) -> None:
    """The order's re-read applies Shopify's decrement once, even if the level webhook follows."""
    pid, item = await world.product(ours=10, base=10, shopify=10, variant=77_000_000_002)
    world.clock.advance(1)
    world.store.sell(item, 2)
    meta = WebhookMeta("o2", None, "orders/create", None, None)
    await handlers.record_order(
        RecordOrder(meta, 1, "#1002", False, (OrderLine(1, VariantId(77_000_000_002), "S", 2),)),
        world.uow,
        world.clock,
    )

    await handlers.push_pending(world.uow, world.engine, world.clock)
    late = await apply(world, level(world, item, 8, event="lvl"))

    assert await world.row(pid) == (8, 8)
    assert late.status in ("processed", "ignored")
    assert await world.b2c_ledger(pid) == 8


async def test_old_webhook_events_are_pruned(world: World) -> None:
    """De-duplication records older than the retention are forgotten; recent ones stay."""
    _, item = await synced(world, 10)
    await apply(world, level(world, item, 9, event="old"))
    world.clock.advance(8 * 86400)
    await apply(world, level(world, item, 8, event="recent"))

    removed = await handlers.prune_webhook_events(world.uow, world.clock, timedelta(days=7))

    async with world.uow() as unit:
        assert (
            await unit.webhooks.seen("old", None),
            await unit.webhooks.seen("recent", None),
        ) == (
            False,
            True,
        )
    assert removed == 1
