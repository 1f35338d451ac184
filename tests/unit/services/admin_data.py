"""Rows of ``product_inventory`` for the operator's use cases, written as the B2B platform would."""

from __future__ import annotations

from sqlalchemy import text

from shopify_sync.domain.model import LogEntry, Product
from tests.factories import random_product_id
from tests.unit.services.conftest import World


async def add_product(
    world: World,
    *,
    sku: str | None = None,
    b2b: int = 100,
    b2c: int = 10,
    variant: int | None = None,
    item: int | None = None,
    enabled: bool = True,
    base: int | None = None,
    product_id: str | None = None,
) -> str:
    """Insert one product; unlinked unless a variant or item is given."""
    pid = product_id or random_product_id()
    async with world.uow.engine.begin() as c:
        await c.execute(
            text(
                "INSERT INTO product_inventory (product_id, sku, b2b_stock, b2c_stock,"
                " shopify_variant_id, shopify_inventory_item_id, sync_enabled, shopify_base,"
                " allocation_policy, pool_base)"
                " VALUES (:p, :sku, :b2b, :b2c, :v, :i, :e, :base, :policy, :base)"
            ),
            {
                "p": pid, "sku": sku, "b2b": b2b, "b2c": b2c,
                "v": None if variant is None else str(variant), "i": item, "e": enabled,
                "base": base, "policy": None if base is None else "split",
            },
        )  # fmt: skip
    return pid


async def product(world: World, pid: str) -> Product:
    """The product as stored now."""
    async with world.uow() as unit:
        found = await unit.products.get(pid)
    assert found is not None
    return found


async def log_of(world: World, pid: str) -> list[LogEntry]:
    """The product's audit trail, oldest first."""
    async with world.uow() as unit:
        return list(reversed(await unit.log.recent(product_id=pid, limit=100)))
