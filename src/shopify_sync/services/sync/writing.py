"""The write to Shopify with its write-ahead record.

A write is stored (``outbound_writes``, and ``push_key`` on each product's row, both
compare-and-set on what the merge read) and committed before it is sent, so that a
crash or a lost answer leaves a record to resend: the same request, the same idempotency
key, until Shopify gives a definite answer (case 12 of the design).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from shopify_sync.domain.model import Product, PushStart, QuantityWrite, SetQuantities
from shopify_sync.domain.reconcile import Merge
from shopify_sync.errors import StoreError, StoreRejected
from shopify_sync.services.ports import Clock, StoreClient, SyncUnitOfWorkFactory
from shopify_sync.services.sync.report import SyncReport
from shopify_sync.services.sync.settling import Settlement
from shopify_sync.types import ProductId

BATCH_SIZE = 250
"""Shopify's limit for one array argument: entries per write, ids per read."""


class Writer:
    """Stores, sends and resends compare-and-set writes; hands each answer to settling."""

    def __init__(
        self,
        uow: SyncUnitOfWorkFactory,
        store: StoreClient,
        clock: Clock,
        settle: Settlement,
        *,
        new_key: Callable[[], str],
        reference_prefix: str,
    ) -> None:
        self._uow = uow
        self._store = store
        self._clock = clock
        self._settle = settle
        self._new_key = new_key
        self._reference_prefix = reference_prefix

    async def push(
        self,
        merges: Sequence[tuple[Product, Merge]],
        report: SyncReport,
        source: str,
        *,
        read_at: datetime | None = None,
    ) -> list[ProductId]:
        """Write the merged quantities, ``BATCH_SIZE`` products per write; returns the
        products to run again (their row moved, or Shopify's changed since it was read).
        ``read_at``: when Shopify's levels were read (a re-read requested before is served
        by the write)."""
        again: list[ProductId] = []
        for start in range(0, len(merges), BATCH_SIZE):
            batch = merges[start : start + BATCH_SIZE]
            again.extend(await self._push(batch, report, source, read_at))
        return again

    async def _push(
        self,
        batch: Sequence[tuple[Product, Merge]],
        report: SyncReport,
        source: str,
        read_at: datetime | None,
    ) -> list[ProductId]:
        """Store one write for the batch, send it, settle it; returns products to run again."""
        key = self._new_key()
        now = self._clock.now()
        accepted: list[tuple[Product, Merge]] = []
        again: list[ProductId] = []
        async with self._uow() as uow:
            started = await uow.products.begin_pushes(
                key,
                [
                    PushStart(
                        p.product_id,
                        p.shopify_base,
                        r.merged,
                        r.expected,
                        r.ours,
                        r.allocation,
                        p.own_allocation,
                    )
                    for p, r in batch
                ],
                now,
                read_at=read_at,
            )
            for product, result in batch:
                if product.product_id in started:
                    accepted.append((product, result))
                else:
                    again.append(product.product_id)  # its row moved since we read it
            if not accepted:
                return again
            write = SetQuantities(
                idempotency_key=key,
                reference_document_uri=f"{self._reference_prefix}/{key}",
                entries=tuple(
                    QuantityWrite(r.inventory_item_id, r.merged, r.expected)
                    for _, r in sorted(accepted, key=lambda pr: pr[1].inventory_item_id)
                ),
            )
            await uow.writes.add(write, now)
            await uow.commit()
        again.extend(await self.send(write, [p for p, _ in accepted], report, source))
        return again

    async def send(
        self, write: SetQuantities, products: Sequence[Product], report: SyncReport, source: str
    ) -> list[ProductId]:
        """Send a stored write and settle its answer; returns products to run again."""
        report.api_writes += 1
        try:
            result = await self._store.set_quantities(write)
        except StoreRejected as exc:
            await self._settle.rejected(write, exc, products, report)
            return []
        except StoreError as exc:
            await self._settle.unanswered(write, exc, products, report)
            return []
        if result.applied:
            await self._settle.applied(write, result, report, source)
            return []
        return await self._settle.refused(write, result, products, report)

    async def resend_in_flight(
        self, keys: Iterable[str] | None, report: SyncReport, source: str
    ) -> None:
        """Resend writes whose outcome is unknown (all stored ones when ``keys`` is None),
        exactly, until Shopify answers (case 12)."""
        if keys is None:
            async with self._uow() as uow:
                keys = await uow.writes.keys()
        for key in sorted(keys):
            async with self._uow() as uow:
                write = await uow.writes.get(key)
                products = await uow.products.in_flight(key)
                if write is None or not products:
                    # Answered by another process meanwhile, or nothing waits on it any more.
                    if write is not None:
                        await uow.writes.remove(key)
                    if products:
                        await uow.products.abandon_push(key, self._clock.now())
                    await uow.commit()
                    continue
            await self.send(write, products, report, source)
