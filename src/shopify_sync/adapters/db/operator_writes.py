"""Adapter: an operator's writes of ``product_inventory`` (admin page, CLI, CSV import):
stocks, links, sync on or off, and the allocation policy; each names its ``Change`` so the
audit triggers log who made it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, case, func, insert, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shopify_sync.adapters.db.product_rows import CLEAR_ERROR, who
from shopify_sync.adapters.db.tables import inventory_sync_log
from shopify_sync.adapters.db.tables import product_inventory as t
from shopify_sync.domain.model import AllocationChange, Change, Link, Product

ALLOCATION_SOURCE = "allocation"
"""The audit trail's source of an allocation change and of the stock moves it makes."""


class OperatorWrites:
    """``SqlProductRepository``'s writes on an operator's behalf."""

    _c: AsyncConnection

    async def get(self, product_id: str, *, lock: bool = False) -> Product | None:
        """One product, or None (``SqlProductRepository``'s)."""
        raise NotImplementedError

    async def upsert(self, fields: Mapping[str, Any], change: Change, now: datetime) -> None:
        """Insert a product or update the given columns of an existing one (admin, CSV import)."""
        existing = await self.get(str(fields["product_id"]))
        if existing is None:
            await self._c.execute(
                insert(t).values(
                    **fields,
                    change_direction=change.direction,
                    change_source=change.source,
                    change_reference=change.reference,
                    created_at=now,
                    updated_at=now,
                )
            )
            return
        values = {k: v for k, v in fields.items() if k != "product_id"}
        await self._c.execute(
            update(t)
            .where(t.c.product_id == fields["product_id"])
            .values(**values, **who(change, now))
        )

    async def set_stock(
        self,
        product_id: str,
        *,
        b2b_stock: int | None = None,
        b2c_stock: int | None = None,
        change: Change,
        now: datetime,
    ) -> None:
        """Set our stock columns (an operator's allocation); the change stays pending."""
        values: dict[str, Any] = who(change, now)
        if b2b_stock is not None:
            values["b2b_stock"] = b2b_stock
        if b2c_stock is not None:
            values["b2c_stock"] = b2c_stock
        await self._c.execute(update(t).where(t.c.product_id == product_id).values(values))

    async def move_stock(
        self, product_id: str, *, to_b2c: int, change: Change, now: datetime
    ) -> None:
        """Shift units between the channels atomically (negative ``to_b2c`` moves to B2B)."""
        await self._c.execute(
            update(t)
            .where(t.c.product_id == product_id)
            .values(
                b2b_stock=t.c.b2b_stock - to_b2c,
                b2c_stock=t.c.b2c_stock + to_b2c,
                **who(change, now),
            )
        )

    async def set_allocation(
        self, change: AllocationChange, *, reference: str | None, now: datetime
    ) -> bool:
        """Write a product's new allocation in one compare-and-set statement: its own policy,
        buffer and cap, its stocks moved by the switch (relative), ``pool_base`` the new
        pool and a re-read requested (Shopify must be told); the audit triggers log the
        moves (``local``/``allocation``), and one more log row the change itself.

        Returns False, changing nothing, when the row moved since ``change.before`` was read
        (stocks or policy columns) or a write of ours is in flight.
        """
        before = change.before
        result = await self._c.execute(
            update(t)
            .where(
                t.c.product_id == before.product_id,
                t.c.push_key.is_(None),
                t.c.b2b_stock == before.b2b_stock,
                t.c.b2c_stock == before.b2c_stock,
                t.c.allocation_policy.is_not_distinct_from(before.allocation_policy),
                t.c.allocation_buffer.is_not_distinct_from(before.allocation_buffer),
                t.c.allocation_cap.is_not_distinct_from(before.allocation_cap),
            )
            .values(
                allocation_policy=change.new.policy,
                allocation_buffer=change.new.buffer,
                allocation_cap=change.new.cap,
                b2b_stock=t.c.b2b_stock + change.b2b_delta,
                b2c_stock=t.c.b2c_stock + change.b2c_delta,
                pool_base=change.pool,
                refresh_requested=True,
                **who(Change("local", ALLOCATION_SOURCE, reference), now),
            )
        )
        if result.rowcount != 1:
            return False
        await self._c.execute(
            insert(inventory_sync_log).values(
                product_id=before.product_id,
                direction="local",
                source=ALLOCATION_SOURCE,
                field="allocation",
                old_value=None,
                new_value=None,
                delta=0,
                reference=reference,
                detail=change.detail,
                created_at=now,
            )
        )
        return True

    async def set_links(self, links: Sequence[Link], now: datetime) -> None:
        """Link products to (or unlink them from) Shopify variants, in one statement; each
        agreed base restarts from scratch; a link's title fills an empty title of ours."""
        if not links:
            return
        empty_title = or_(t.c.title.is_(None), func.trim(t.c.title) == "")
        statement = (
            update(t)
            .where(t.c.product_id == bindparam("pid"))
            .values(
                shopify_variant_id=bindparam("variant"),
                shopify_inventory_item_id=bindparam("item"),
                title=func.coalesce(case((empty_title, bindparam("title", type_=Text))), t.c.title),
                shopify_base=None,
                shopify_seen_at=None,
                refresh_requested=False,
                **CLEAR_ERROR,
                updated_at=now,
            )
        )
        params = [
            {
                "pid": k.product_id,
                "variant": k.variant_id,
                "item": k.inventory_item_id,
                "title": k.title or None,
            }
            for k in links
        ]
        await self._c.execute(statement, params)

    async def set_enabled(self, product_id: str, enabled: bool, now: datetime) -> None:
        """Turn sync on or off for one product."""
        await self._c.execute(
            update(t)
            .where(t.c.product_id == product_id)
            .values(sync_enabled=enabled, updated_at=now)
        )
