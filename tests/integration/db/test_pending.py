"""One definition of "pending": ``Product.pending`` and SQL's ``PENDING`` select the same rows."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shopify_sync.adapters.db.tables import PENDING
from shopify_sync.adapters.db.tables import product_inventory as t
from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from tests.factories import random_item_id, random_product_id

pytestmark = pytest.mark.anyio

ROWS = 300


async def _random_rows(engine: AsyncEngine, rng: random.Random) -> list[str]:
    """Rows over every combination that matters: enabled or not, a base or none, a stored
    policy or none, a pool base or none and equal to the pool column of the stored policy
    or to the other column or neither, a re-read requested or not, a write in flight or not."""
    rows = []
    for _ in range(ROWS):
        b2c = rng.randint(-3, 3)
        b2b = rng.randint(-3, 3)
        policy = rng.choice([None, "split", "split", "shared", "shared"])
        pool = b2b if policy == "shared" else b2c
        rows.append(
            {
                "p": random_product_id(),
                "b2c": b2c,
                "b2b": b2b,
                "base": rng.choice([None, b2c, b2c, rng.randint(-3, 3)]),
                "policy": policy,
                "pool_base": rng.choice([None, pool, pool, pool, b2b, b2c, rng.randint(-3, 3)]),
                "e": rng.random() < 0.8,
                "r": rng.random() < 0.2,
                "k": rng.choice([None, None, None, f"key-{rng.randint(1, 9)}"]),
                "i": rng.choice([None, random_item_id()]),
            }
        )
    async with engine.begin() as c:
        await c.execute(
            text(
                "INSERT INTO product_inventory (product_id, sku, b2b_stock, b2c_stock,"
                " shopify_variant_id, shopify_inventory_item_id, sync_enabled, shopify_base,"
                " allocation_policy, pool_base, refresh_requested, push_key)"
                " VALUES (:p, :p, :b2b, :b2c, '1', :i, :e, :base, :policy, :pool_base, :r, :k)"
            ),
            rows,
        )
    return [str(r["p"]) for r in rows]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_python_and_sql_agree_on_pending(engine: AsyncEngine, seed: int) -> None:
    """On random rows, the products ``Product.pending`` selects are exactly those the SQL
    predicate (the pending scan's, the admin count's, the partial index's) selects."""
    ids = await _random_rows(engine, random.Random(seed))
    async with SqlUnitOfWorkFactory(engine)() as uow:
        products = await uow.products.get_many(ids)
        counts = await uow.products.counts()
    async with engine.connect() as c:
        in_sql = set(
            (await c.scalars(select(t.c.product_id).where(PENDING, t.c.product_id.in_(ids)))).all()
        )

    in_python = {p.product_id for p in products if p.pending}
    assert in_python == in_sql
    assert 0 < len(in_python) < len(ids)
    assert counts["pending"] == len(in_sql)
