"""The queries the operator's use cases add, on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.domain.model import LogRecord
from shopify_sync.types import InventoryItemId, ProductId
from tests.factories import random_item_id, random_product_id

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 5, 1, 10, 0, 0, tzinfo=UTC)


async def _insert(engine: AsyncEngine, sku: str | None, item: int | None = None) -> str:
    pid = random_product_id()
    async with engine.begin() as c:
        await c.execute(
            text(
                "INSERT INTO product_inventory (product_id, sku, shopify_inventory_item_id)"
                " VALUES (:p, :s, :i)"
            ),
            {"p": pid, "s": sku, "i": item},
        )
    return pid


async def test_duplicate_skus_compare_trimmed_and_case_folded(engine: AsyncEngine) -> None:
    """SKUs carried by several products are found whatever their case or spaces."""
    for sku in ("A-1", " a-1 ", "B-1", None, "", ""):
        await _insert(engine, sku)

    async with SqlUnitOfWorkFactory(engine)() as unit:
        found = await unit.products.duplicate_skus()

    assert found == {"a-1"}


async def test_by_inventory_items_and_linked_filter(engine: AsyncEngine) -> None:
    """Products are found by any of many items, and the linked filter keeps linked ones."""
    item = random_item_id()
    linked = await _insert(engine, "L", item)
    await _insert(engine, "U")

    async with SqlUnitOfWorkFactory(engine)() as unit:
        by_item = await unit.products.by_inventory_items([item, InventoryItemId(1)])
        page = await unit.products.page(linked=True)

    assert [p.product_id for p in by_item] == [linked]
    assert [p.product_id for p in page] == [linked]


async def test_policy_filter_counts_products_without_their_own_under_the_default(
    engine: AsyncEngine,
) -> None:
    """Filtering by the default's policy keeps the products without their own too; by the
    other policy, only those that have it."""
    shared, split, unset = [await _insert(engine, sku) for sku in ("S", "P", "U")]
    async with engine.begin() as c:
        for pid, policy in ((shared, "shared"), (split, "split")):
            await c.execute(
                text("UPDATE product_inventory SET allocation_policy = :a WHERE product_id = :p"),
                {"a": policy, "p": pid},
            )

    async with SqlUnitOfWorkFactory(engine)() as unit:
        found = {
            (policy, default): {p.product_id for p in await unit.products.page(
                search=None, policy=policy, default_policy=default, limit=100
            )} & {shared, split, unset}
            for policy in ("split", "shared")
            for default in ("split", "shared")
        }  # fmt: skip

    assert found == {
        ("split", "split"): {split, unset},
        ("split", "shared"): {split},
        ("shared", "split"): {shared},
        ("shared", "shared"): {shared, unset},
    }


async def test_latest_log_row_by_direction_and_source(engine: AsyncEngine) -> None:
    """The newest row of a product is found by direction or by source family."""
    pid = ProductId(await _insert(engine, "X"))
    rows = [
        LogRecord(pid, "outbound", "pending", "b2c_stock", 1, 2, 1, "k-1"),
        LogRecord(pid, "inbound", "webhook:inventory_levels/update", "b2c_stock", 2, 1, -1, "e"),
        LogRecord(pid, "outbound", "reconcile", "b2c_stock", 2, 3, 1, "k-2"),
        LogRecord(pid, "local", "admin", "sync_enabled", None, None, 0),
    ]
    async with SqlUnitOfWorkFactory(engine)() as unit:
        await unit.log.add(rows, NOW)
        await unit.commit()

    async with SqlUnitOfWorkFactory(engine)() as unit:
        push = await unit.log.latest(pid, direction="outbound")
        hook = await unit.log.latest(pid, source_prefix="webhook:")
        newest = await unit.log.latest(pid)
        none = await unit.log.latest(pid, source_prefix="web%")

    assert (push and push.reference, hook and hook.reference) == ("k-2", "e")
    assert (newest and newest.field, none) == ("sync_enabled", None)
