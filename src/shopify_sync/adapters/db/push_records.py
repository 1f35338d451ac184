"""Adapter: the write-ahead record of a push on ``product_inventory`` (``push_key`` and the
quantities in flight), behind the same port as the rest of the products' writes.

A push is recorded (``begin_pushes``, compare-and-set on everything its merge read),
committed with its ``outbound_writes`` row before it is sent, and then either applied
(``finish_push``) or abandoned (``abandon_push``) once Shopify answers for sure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shopify_sync.adapters.db.product_rows import CLEAR_ERROR, newer_seen, product_of, who
from shopify_sync.adapters.db.tables import product_inventory as t
from shopify_sync.domain.model import Change, Product, PushStart
from shopify_sync.types import ProductId


class PushRecords:
    """``SqlProductRepository``'s writes of a push in flight."""

    _c: AsyncConnection

    async def begin_pushes(
        self, key: str, starts: Sequence[PushStart], now: datetime
    ) -> set[ProductId]:
        """Record one write in flight under ``key`` for many products at once (its quantity
        and Shopify's expected value, per product); returns the products it was recorded for.

        One statement for the batch (executemany), then one indexed read of what took:
        a product whose base or B2C stock moved, or that has another push in flight, is
        left out (its merge is stale: the caller merges it again with a fresh read).
        """
        if not starts:
            return set()
        await self._c.execute(
            update(t)
            .where(
                t.c.product_id == bindparam("b_id"),
                t.c.shopify_base.is_not_distinct_from(bindparam("b_base", type_=Integer)),
                t.c.b2c_stock == bindparam("b_ours", type_=Integer),
                t.c.push_key.is_(None),
            )
            .values(
                push_key=key,
                push_quantity=bindparam("b_quantity"),
                push_expected=bindparam("b_expected"),
                updated_at=now,
            ),
            [
                {
                    "b_id": s.product_id,
                    "b_base": s.expected_base,
                    "b_quantity": s.quantity,
                    "b_expected": s.expected,
                    "b_ours": s.expected_ours,
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

        Our stock moves by Shopify's side of each merge (``push_expected - shopify_base``);
        any change of ours made meanwhile stays pending. Returns the rows as they were.
        """
        products = await self.in_flight(key)
        seen = t.c.shopify_seen_at if applied_at is None else newer_seen(applied_at)
        await self._c.execute(
            update(t)
            .where(t.c.push_key == key)
            .values(
                b2c_stock=t.c.b2c_stock
                + t.c.push_expected
                - func.coalesce(t.c.shopify_base, t.c.push_expected),
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
        """Shopify refused the write under ``key``: nothing changed; the rows stay pending."""
        products = await self.in_flight(key)
        await self._c.execute(
            update(t)
            .where(t.c.push_key == key)
            .values(push_key=None, push_quantity=None, push_expected=None, updated_at=now)
        )
        return products
