"""An in-memory fake of the sync's unit of work (``SyncUnitOfWork``), for service-level
tests of the sync stages.

It keeps products, the audit trail and the stored writes in dictionaries, with the
compare-and-set rules of the SQL repositories (``adapters/db/repository.py`` and
``push_records.py``): a change lands only while the row still holds what the caller read,
and moves the pool of the product's allocation (``b2b_stock`` under ``shared``, with
``b2c_stock`` mirroring what Shopify shows). A unit of work that leaves
without ``commit()`` rolls back to what it found.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from shopify_sync.domain.allocation import Allocation
from shopify_sync.domain.model import (
    Change,
    LogEntry,
    LogRecord,
    Product,
    PulledChange,
    PushStart,
    SetQuantities,
    SyncFailure,
)
from shopify_sync.services.ports import SyncUnitOfWork, SyncUnitOfWorkFactory
from shopify_sync.types import InventoryItemId, ProductId


@dataclass
class MemoryState:
    """Everything the fake database holds."""

    products: dict[ProductId, Product] = field(default_factory=dict)
    log: list[LogEntry] = field(default_factory=list)
    writes: dict[str, SetQuantities] = field(default_factory=dict)
    write_errors: dict[str, list[str]] = field(default_factory=dict)


def _newer(current: datetime | None, seen: datetime | None) -> datetime | None:
    if seen is None:
        return current
    return seen if current is None or current < seen else current


def _cleared(product: Product, **values: Any) -> Product:
    """The row with ``values`` set and its failure forgotten."""
    return dataclasses.replace(
        product, sync_error=None, sync_attempts=0, next_attempt_at=None, parked_at=None, **values
    )


def _pool_moves(product: Product, policy: str | None, delta: int, mirror: int) -> dict[str, int]:
    """The stocks when the pool of ``policy`` moves by ``delta`` (``pool_moves`` in SQL)."""
    if policy == "shared":
        return {"b2b_stock": product.b2b_stock + delta, "b2c_stock": mirror}
    return {"b2c_stock": product.b2c_stock + delta}


def _own(allocation: Allocation) -> dict[str, Any]:
    """The row's own allocation columns set to ``allocation``'s."""
    return {
        "allocation_policy": allocation.policy,
        "allocation_buffer": allocation.buffer,
        "allocation_cap": allocation.cap,
    }


class MemoryProducts:
    """``product_inventory`` in memory."""

    def __init__(self, state: MemoryState) -> None:
        self._s = state

    def _put(self, product: Product) -> None:
        self._s.products[product.product_id] = product

    def _log_stock(
        self, before: Product, after: Product, change: Change, now: datetime, detail: str | None
    ) -> None:
        """What the SQL triggers record: each change of a stock column, with who made it."""
        for column in ("b2c_stock", "b2b_stock"):
            old, new = getattr(before, column), getattr(after, column)
            if old != new:
                self._s.log.append(
                    LogEntry(
                        len(self._s.log) + 1, before.product_id, change.direction,
                        change.source, column, old, new, new - old, change.reference,
                        detail, now,
                    )
                )  # fmt: skip

    async def get_many(self, product_ids: Iterable[str], *, lock: bool = False) -> list[Product]:
        return [
            self._s.products[ProductId(p)]
            for p in sorted(set(product_ids))
            if ProductId(p) in self._s.products
        ]

    async def by_inventory_items(self, items: Iterable[InventoryItemId]) -> list[Product]:
        wanted = set(items)
        return sorted(
            (p for p in self._s.products.values() if p.inventory_item_id in wanted),
            key=lambda p: p.product_id,
        )

    def _ordered(self, after: str | None) -> list[Product]:
        return [
            p for _, p in sorted(self._s.products.items()) if after is None or p.product_id > after
        ]

    async def syncable(
        self,
        *,
        after: str | None = None,
        limit: int = 1000,
        not_synced_since: datetime | None = None,
    ) -> list[Product]:
        found = [
            p
            for p in self._ordered(after)
            if p.sync_enabled and p.linked and p.parked_at is None
            if not_synced_since is None
            or (
                (p.last_synced_at is None or p.last_synced_at < not_synced_since)
                and (p.next_attempt_at is None or p.next_attempt_at <= not_synced_since)
                and p.push_key is None
            )
        ]
        return found[:limit]

    async def unresolved(self, *, limit: int = 250, now: datetime | None = None) -> list[Product]:
        found = [
            p
            for p in self._ordered(None)
            if p.sync_enabled and p.inventory_item_id is None and p.shopify_variant_id
            if p.parked_at is None
            if now is None or p.next_attempt_at is None or p.next_attempt_at <= now
        ]
        return found[:limit]

    async def set_inventory_item(
        self, product_id: str, item: InventoryItemId, now: datetime
    ) -> None:
        product = self._s.products[ProductId(product_id)]
        self._put(dataclasses.replace(product, inventory_item_id=item, updated_at=now))

    def _refresh_after(self, product: Product, read_at: datetime | None) -> bool:
        """``refresh_requested`` stays only when requested after the level was read."""
        if read_at is None or product.updated_at is None:
            return False
        return product.refresh_requested if product.updated_at > read_at else False

    async def apply_inbound(
        self,
        changes: Sequence[PulledChange],
        *,
        source: str,
        now: datetime,
        synced: bool = False,
        read_at: datetime | None = None,
    ) -> set[ProductId]:
        if len({c.product_id for c in changes}) != len(changes):
            raise ValueError("apply_inbound takes each product at most once")
        applied: set[ProductId] = set()
        for c in changes:
            product = self._s.products.get(c.product_id)
            if product is None or product.push_key is not None:
                continue
            if product.shopify_base != c.expected_base:
                continue
            if product.allocation_policy != c.expected_policy:
                continue
            pool_base = (
                c.agreed_pool
                if c.agreed_pool is not None
                else None
                if product.pool_base is None
                else product.pool_base + c.delta
            )
            values: dict[str, Any] = {
                **_pool_moves(product, c.allocation.policy, c.delta, c.new_base),
                **_own(c.allocation),
                "pool_base": pool_base,
                "shopify_base": c.new_base,
                "shopify_seen_at": _newer(product.shopify_seen_at, c.seen_at),
                "refresh_requested": self._refresh_after(product, read_at),
                "updated_at": now,
            }
            if synced:
                values["last_synced_at"] = now
            after = (
                _cleared(product, **values) if synced else dataclasses.replace(product, **values)
            )
            self._log_stock(product, after, Change("inbound", source, c.reference), now, None)
            self._put(after)
            applied.add(c.product_id)
        return applied

    async def request_refresh(self, product_ids: Iterable[str], now: datetime) -> None:
        for pid in product_ids:
            product = self._s.products[ProductId(pid)]
            self._put(dataclasses.replace(product, refresh_requested=True, updated_at=now))

    async def begin_pushes(
        self,
        key: str,
        starts: Sequence[PushStart],
        now: datetime,
        *,
        read_at: datetime | None = None,
    ) -> set[ProductId]:
        for s in starts:
            product = self._s.products.get(s.product_id)
            if product is None or product.push_key is not None:
                continue
            pool = s.allocation.pool(product.b2b_stock, product.b2c_stock)
            if (
                product.shopify_base != s.expected_base
                or pool != s.expected_pool
                or product.own_allocation != s.expected_own
            ):
                continue
            self._put(
                dataclasses.replace(
                    product, push_key=key, push_quantity=s.quantity,
                    push_expected=s.expected, pool_base=s.expected_pool,
                    refresh_requested=product.refresh_requested
                    if read_at is None
                    else self._refresh_after(product, read_at),
                    updated_at=now, **_own(s.allocation),
                )
            )  # fmt: skip
        return {p.product_id for p in self._s.products.values() if p.push_key == key}

    async def in_flight(self, key: str) -> list[Product]:
        return sorted(
            (p for p in self._s.products.values() if p.push_key == key),
            key=lambda p: p.product_id,
        )

    async def finish_push(
        self, key: str, *, applied_at: datetime | None, change: Change, now: datetime
    ) -> list[Product]:
        products = await self.in_flight(key)
        for p in products:
            assert p.push_expected is not None and p.push_quantity is not None
            base = p.shopify_base if p.shopify_base is not None else p.push_expected
            delta = p.push_expected - base
            after = _cleared(
                p,
                **_pool_moves(p, p.allocation_policy, delta, p.push_quantity),
                pool_base=None if p.pool_base is None else p.pool_base + delta,
                shopify_base=p.push_quantity,
                shopify_seen_at=_newer(p.shopify_seen_at, applied_at),
                push_key=None,
                push_quantity=None,
                push_expected=None,
                last_synced_at=now,
                updated_at=now,
            )
            self._log_stock(p, after, change, now, None)
            self._put(after)
        return products

    async def abandon_push(self, key: str, now: datetime) -> list[Product]:
        products = await self.in_flight(key)
        for p in products:
            self._put(
                dataclasses.replace(
                    p,
                    push_key=None,
                    push_quantity=None,
                    push_expected=None,
                    refresh_requested=True,
                    updated_at=now,
                )
            )
        return products

    async def record_failures(self, failures: Sequence[SyncFailure], now: datetime) -> None:
        for f in failures:
            p = self._s.products[f.product_id]
            self._put(
                dataclasses.replace(
                    p,
                    sync_error=f.message,
                    sync_attempts=p.sync_attempts + 1,
                    next_attempt_at=f.next_attempt_at,
                    parked_at=None if f.next_attempt_at is not None else now,
                    updated_at=now,
                )
            )

    async def mark_synced(
        self,
        product_ids: Sequence[str],
        seen: Mapping[str, datetime | None],
        now: datetime,
        *,
        read_at: datetime | None = None,
    ) -> None:
        for pid in product_ids:
            p = self._s.products[ProductId(pid)]
            if p.push_key is not None:
                continue
            self._put(
                _cleared(
                    p,
                    last_synced_at=now,
                    refresh_requested=self._refresh_after(p, read_at),
                    shopify_seen_at=_newer(p.shopify_seen_at, seen.get(pid)),
                )
            )


class MemoryLog:
    """The audit trail in memory."""

    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def add(self, records: Sequence[LogRecord], now: datetime) -> None:
        for r in records:
            self._s.log.append(
                LogEntry(
                    len(self._s.log) + 1, r.product_id, r.direction, r.source, r.field,
                    r.old_value, r.new_value, r.delta, r.reference, r.detail, now,
                )
            )  # fmt: skip

    async def recent(
        self, *, product_id: str | None = None, limit: int = 50, before_id: int | None = None
    ) -> list[LogEntry]:
        rows = [
            e
            for e in reversed(self._s.log)
            if (product_id is None or e.product_id == product_id)
            and (before_id is None or e.id < before_id)
        ]
        return rows[:limit]

    async def latest(
        self, product_id: str, *, direction: str | None = None, source_prefix: str | None = None
    ) -> LogEntry | None:
        for e in reversed(self._s.log):
            if (
                e.product_id == product_id
                and direction in (None, e.direction)
                and (source_prefix is None or e.source.startswith(source_prefix))
            ):
                return e
        return None


class MemoryWrites:
    """The write-ahead record ``outbound_writes`` in memory."""

    def __init__(self, state: MemoryState) -> None:
        self._s = state

    async def add(self, write: SetQuantities, now: datetime) -> None:
        assert write.idempotency_key not in self._s.writes, "a key is stored once"
        self._s.writes[write.idempotency_key] = write

    async def get(self, key: str) -> SetQuantities | None:
        return self._s.writes.get(key)

    async def failed_attempt(self, key: str, error: str) -> None:
        self._s.write_errors.setdefault(key, []).append(error)

    async def remove(self, key: str) -> None:
        self._s.writes.pop(key, None)

    async def keys(self) -> list[str]:
        return sorted(self._s.writes)


class MemoryUnitOfWork:
    """One transaction on the in-memory state: rolled back unless committed."""

    def __init__(self, state: MemoryState, commits: list[int]) -> None:
        self._state = state
        self._commits = commits
        self._saved: MemoryState | None = None
        self.products = MemoryProducts(state)
        self.log = MemoryLog(state)
        self.writes = MemoryWrites(state)

    async def __aenter__(self) -> Self:
        self._saved = copy.deepcopy(self._state)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._saved is not None:
            await self.rollback()

    async def commit(self) -> None:
        self._saved = None
        self._commits.append(1)

    async def rollback(self) -> None:
        if self._saved is not None:
            for f in dataclasses.fields(MemoryState):
                setattr(self._state, f.name, getattr(self._saved, f.name))
            self._saved = None


class MemoryUnitOfWorkFactory:
    """Makes units of work over one shared in-memory state."""

    def __init__(self) -> None:
        self.state = MemoryState()
        self.commits: list[int] = []

    def __call__(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.state, self.commits)


_uow: SyncUnitOfWork = MemoryUnitOfWork(MemoryState(), [])
_factory: SyncUnitOfWorkFactory = MemoryUnitOfWorkFactory()
