"""Adapter: the write-ahead record of a push on ``product_inventory`` (``push_key`` and the
quantities in flight), behind the same port as the rest of the products' writes.

A push is recorded (``begin_pushes``, compare-and-set on everything its merge read),
committed with its ``outbound_writes`` row before it is sent, and then either applied
(``finish_push``) or abandoned (``abandon_push``) once Shopify answers for sure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, Text, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shopify_sync.adapters.db.product_rows import (
    CLEAR_ERROR,
    SHARED,
    newer_seen,
    own_allocation_values,
    pool_moves,
    product_of,
    refresh_after,
    who,
)
from shopify_sync.adapters.db.tables import product_inventory as t
from shopify_sync.domain.model import Change, Product, PushStart
from shopify_sync.types import ProductId


class PushRecords:
    """``SqlProductRepository``'s writes of a push in flight."""

    _c: AsyncConnection

    async def begin_pushes(
        self,
        key: str,
        starts: Sequence[PushStart],
        now: datetime,
        *,
        read_at: datetime | None = None,
    ) -> set[ProductId]:
        """Record one write in flight under ``key`` for many products at once (its quantity
        and Shopify's expected value, per product); returns the products it was recorded for.

        One statement for the batch (executemany), then one indexed read of what took:
        a product whose base, pool or own policy columns moved, or that has another push
        in flight, is left out (its merge is stale: the caller merges it again with a
        fresh read). ``pool_base`` becomes the pool as read, and a product without its own
        allocation gets the one the merge used (its first agreement is under way). A
        re-read requested before ``read_at`` (when Shopify was read) is served by the write:
        the write's compare-and-set stands for it; one requested later stays.
        """
        if not starts:
            return set()
        policy = bindparam("b_policy", type_=Text)
        pool = case((policy == SHARED, t.c.b2b_stock), else_=t.c.b2c_stock)
        await self._c.execute(
            update(t)
            .where(
                t.c.product_id == bindparam("b_id"),
                t.c.shopify_base.is_not_distinct_from(bindparam("b_base", type_=Integer)),
                pool == bindparam("b_pool", type_=Integer),
                t.c.allocation_policy.is_not_distinct_from(bindparam("b_own_policy", type_=Text)),
                t.c.allocation_buffer.is_not_distinct_from(
                    bindparam("b_own_buffer", type_=Integer)
                ),
                t.c.allocation_cap.is_not_distinct_from(bindparam("b_own_cap", type_=Integer)),
                t.c.push_key.is_(None),
            )
            .values(
                push_key=key,
                push_quantity=bindparam("b_quantity"),
                push_expected=bindparam("b_expected"),
                pool_base=bindparam("b_pool", type_=Integer),
                refresh_requested=(
                    t.c.refresh_requested if read_at is None else refresh_after(read_at)
                ),
                **own_allocation_values(
                    policy,
                    bindparam("b_buffer", type_=Integer),
                    bindparam("b_cap", type_=Integer),
                ),
                updated_at=now,
            ),
            [
                {
                    "b_id": s.product_id,
                    "b_base": s.expected_base,
                    "b_quantity": s.quantity,
                    "b_expected": s.expected,
                    "b_pool": s.expected_pool,
                    "b_policy": s.allocation.policy,
                    "b_buffer": s.allocation.buffer,
                    "b_cap": s.allocation.cap,
                    "b_own_policy": s.expected_own[0],
                    "b_own_buffer": s.expected_own[1],
                    "b_own_cap": s.expected_own[2],
                }
                for s in starts
            ],
        )
        taken = await self._c.execute(select(t.c.product_id).where(t.c.push_key == key))
        return {ProductId(row[0]) for row in taken}

    async def in_flight(self, key: str) -> list[Product]:
        """The products whose write is in flight under ``key``."""
        query = select(t).where(t.c.push_key == key).order_by(t.c.product_id)
        return [product_of(r) for r in await self._c.execute(query)]

    async def finish_push(
        self, key: str, *, applied_at: datetime | None, change: Change, now: datetime
    ) -> list[Product]:
        """Shopify applied the write under ``key``: take its quantities as the agreed base.

        Our pool (per row, its stored policy's, which cannot change while the write is in
        flight) moves by Shopify's side of each merge (``push_expected - shopify_base``), and
        ``pool_base`` with it: relative, so any change of ours made meanwhile stays pending.
        Under ``shared`` ``b2c_stock`` mirrors the quantity written. Returns the rows as
        they were.
        """
        products = await self.in_flight(key)
        seen = t.c.shopify_seen_at if applied_at is None else newer_seen(applied_at)
        delta = t.c.push_expected - func.coalesce(t.c.shopify_base, t.c.push_expected)
        await self._c.execute(
            update(t)
            .where(t.c.push_key == key)
            .values(
                **pool_moves(t.c.allocation_policy, delta, t.c.push_quantity),
                pool_base=t.c.pool_base + delta,
                shopify_base=t.c.push_quantity,
                shopify_seen_at=seen,
                push_key=None,
                push_quantity=None,
                push_expected=None,
                last_synced_at=now,
                **CLEAR_ERROR,
                **who(change, now),
            )
        )
        return products

    async def abandon_push(self, key: str, now: datetime) -> list[Product]:
        """Shopify refused the write under ``key`` (or it was given up): nothing changed.

        The rows stay pending: ``pool_base`` was set when the write began, so a re-read is
        requested."""
        products = await self.in_flight(key)
        await self._c.execute(
            update(t)
            .where(t.c.push_key == key)
            .values(
                push_key=None,
                push_quantity=None,
                push_expected=None,
                refresh_requested=True,
                updated_at=now,
            )
        )
        return products
