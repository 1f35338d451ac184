"""Settling: Shopify's answer (or its side of a merge) made true on our rows.

Four outcomes, one method each: Shopify already held the merged values (apply its side
only); it applied our write (agree on the written quantities, log them); it refused the
write whole (sort out who caused it: stale, permanent for some products, or the whole
request); no definite answer came (keep the write and resend it, same key, later).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from shopify_sync.domain.allocation import Allocation
from shopify_sync.domain.decision import level_reference
from shopify_sync.domain.model import (
    Change,
    LevelRead,
    LogRecord,
    Product,
    PulledChange,
    SetQuantities,
    WriteErrorKind,
    WriteResult,
)
from shopify_sync.domain.reconcile import Merge, credible
from shopify_sync.errors import StoreError, StoreRejected
from shopify_sync.services.ports import Clock, Metrics, SyncUnitOfWorkFactory
from shopify_sync.services.sync.failure import FailurePolicy
from shopify_sync.services.sync.report import Action, ProductResult, SyncReport
from shopify_sync.types import InventoryItemId, ProductId

log = structlog.get_logger(__name__)


class Settlement:
    """Applies the outcome of a merge or of a write to our rows, in one transaction each."""

    def __init__(
        self, uow: SyncUnitOfWorkFactory, clock: Clock, failures: FailurePolicy, metrics: Metrics
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._failures = failures
        self._metrics = metrics

    async def without_write(
        self,
        settle: Sequence[tuple[Product, Merge, LevelRead]],
        report: SyncReport,
        source: str,
        read_at: datetime | None,
    ) -> list[ProductId]:
        """Shopify already holds the merged values: apply its side to our rows (the pool
        moves by its change, both sides agree on the pool), in one transaction, each
        compare-and-set on the base; returns the rows that moved meanwhile."""
        now = self._clock.now()
        in_sync: list[ProductId] = []
        newer_seen: dict[str, datetime | None] = {}
        pulled: list[tuple[Product, Merge, LevelRead]] = []
        for product, result, level in settle:
            if not _agreed(product, result):
                pulled.append((product, result, level))
                continue
            in_sync.append(product.product_id)
            seen = credible(level.updated_at, now)
            if seen is not None and (
                product.shopify_seen_at is None or seen > product.shopify_seen_at
            ):
                newer_seen[product.product_id] = seen
            report.add(
                ProductResult(
                    product.product_id, "in_sync", product.b2c_stock, level.available,
                    result.merged,
                )
            )  # fmt: skip
        async with self._uow() as uow:
            applied = await uow.products.apply_inbound(
                [
                    pulled_change(product, result, credible(level.updated_at, now), level)
                    for product, result, level in pulled
                ],
                source=source,
                now=now,
                synced=True,
                read_at=read_at,
            )
            if in_sync:
                await uow.products.mark_synced(in_sync, newer_seen, now, read_at=read_at)
            await uow.commit()
        again: list[ProductId] = []
        for product, result, level in pulled:
            if product.product_id not in applied:
                again.append(product.product_id)  # its row moved since we read it
                continue
            action: Action = "pulled" if result.inbound_delta else "in_sync"
            if result.inbound_delta:
                self._metrics.pulled(1, "sync")
            report.add(
                ProductResult(
                    product.product_id, action, result.allocated.b2c_after,
                    level.available, result.merged,
                )
            )  # fmt: skip
        return again

    async def locally(
        self, products: Sequence[Product], allocation: Allocation, report: SyncReport, source: str
    ) -> list[ProductId]:
        """Products whose only change is a move of the pool that Shopify is not to see (a
        cap still reached, a buffer absorbing it): agree on the pool as it is, without
        reading Shopify; returns the rows that moved meanwhile (to run with a read)."""
        now = self._clock.now()
        changes = [
            PulledChange(
                p.product_id, p.shopify_base, 0, p.shopify_base or 0, None, None,
                allocation=p.allocation(allocation), expected_policy=p.allocation_policy,
                agreed_pool=p.stored_pool,
            )
            for p in products
        ]  # fmt: skip
        async with self._uow() as uow:
            applied = await uow.products.apply_inbound(changes, source=source, now=now, synced=True)
            await uow.commit()
        for product in products:
            if product.product_id in applied:
                report.add(
                    ProductResult(
                        product.product_id, "in_sync", product.b2c_stock, None,
                        product.shopify_base,
                    )
                )  # fmt: skip
        return [p.product_id for p in products if p.product_id not in applied]

    async def applied(
        self, write: SetQuantities, result: WriteResult, report: SyncReport, source: str
    ) -> None:
        """Shopify applied the write: its quantities become the agreed base, logged."""
        now = self._clock.now()
        async with self._uow() as uow:
            done = await uow.products.finish_push(
                write.idempotency_key,
                applied_at=result.applied_at,
                change=Change("inbound", source, write.idempotency_key),
                now=now,
            )
            await uow.log.add(
                [
                    LogRecord(
                        p.product_id, "outbound", source, "b2c_stock",
                        p.push_expected, p.push_quantity,
                        (p.push_quantity or 0) - (p.push_expected or 0),
                        write.idempotency_key,
                        f"set Shopify available {p.push_expected} -> {p.push_quantity}"
                        f" ({write.reference_document_uri})",
                    )
                    for p in done
                ],
                now,
            )  # fmt: skip
            await uow.writes.remove(write.idempotency_key)
            await uow.commit()
        started = report.started_at
        if done:  # a resend whose rows another pass already settled acknowledges nothing new
            self._metrics.pushed(
                len(done), None if started is None else (now - started).total_seconds()
            )
        for p in done:
            inbound = (p.push_expected or 0) - (
                p.shopify_base if p.shopify_base is not None else (p.push_expected or 0)
            )
            b2c = p.push_quantity if p.allocation_policy == "shared" else p.b2c_stock + inbound
            report.add(
                ProductResult(
                    p.product_id, "merged" if inbound else "pushed", b2c,
                    p.push_quantity, p.push_quantity, p.push_quantity,
                )
            )  # fmt: skip

    async def refused(
        self,
        write: SetQuantities,
        result: WriteResult,
        products: Sequence[Product],
        report: SyncReport,
    ) -> list[ProductId]:
        """Shopify refused the write whole (it applies all or nothing): nothing changed.

        Products it refused for good are parked; a refusal of the request itself is
        retried later; the rest (a stale compare-and-set) are returned, to run again.
        """
        now = self._clock.now()
        permanent: dict[InventoryItemId, str] = {}
        for error in result.errors:
            if error.kind is WriteErrorKind.PERMANENT and error.inventory_item_id is not None:
                permanent[error.inventory_item_id] = (
                    f"Shopify refused the quantity: {error.code}: {error.message}"
                )
        async with self._uow() as uow:
            await uow.products.abandon_push(write.idempotency_key, now)
            await uow.writes.remove(write.idempotency_key)
            refused = {
                p.product_id: permanent[p.inventory_item_id]
                for p in products
                if p.inventory_item_id in permanent
            }
            await self._failures.record(uow, refused, permanent=True)
            for product in products:
                if product.product_id in refused:
                    report.fail(product, refused[product.product_id])
            await uow.commit()
        if any(
            e.kind is WriteErrorKind.PERMANENT and e.inventory_item_id is None
            for e in result.errors
        ):
            message = "; ".join(f"{e.code}: {e.message}" for e in result.errors)
            await self._retry_later(products, f"Shopify refused the write: {message}", report)
            return []
        log.info(
            "write refused, re-merging",
            key=write.idempotency_key,
            codes=sorted({e.code for e in result.errors}),
            products=len(products),
        )
        return [p.product_id for p in products if p.inventory_item_id not in permanent]

    async def rejected(
        self,
        write: SetQuantities,
        exc: StoreRejected,
        products: Sequence[Product],
        report: SyncReport,
    ) -> None:
        """Shopify refused the request itself (a 4xx): nothing was written, so the stored
        write is dropped; the products are merged afresh at their next attempt."""
        message = f"Shopify refused the write: {exc}"
        async with self._uow() as uow:
            await uow.products.abandon_push(write.idempotency_key, self._clock.now())
            await uow.writes.remove(write.idempotency_key)
            await self._failures.record(
                uow, dict.fromkeys((p.product_id for p in products), message), permanent=False
            )
            await uow.commit()
        report.failed_all(products, message)

    async def unanswered(
        self, write: SetQuantities, exc: StoreError, products: Sequence[Product], report: SyncReport
    ) -> None:
        """No definite answer (unsent, or sent and unanswered): keep the write in flight;
        it is resent as is, same key, at the products' next attempt."""
        message = f"push to Shopify failed: {exc}"
        async with self._uow() as uow:
            await uow.writes.failed_attempt(write.idempotency_key, str(exc))
            await self._failures.record(
                uow, dict.fromkeys((p.product_id for p in products), message), permanent=False
            )
            await uow.commit()
        report.failed_all(products, message)

    async def _retry_later(
        self, products: Sequence[Product], message: str, report: SyncReport
    ) -> None:
        async with self._uow() as uow:
            await self._failures.record(
                uow, dict.fromkeys((p.product_id for p in products), message), permanent=False
            )
            await uow.commit()
        report.failed_all(products, message)


def _agreed(product: Product, result: Merge) -> bool:
    """True when the row already says what the merge agrees on: its base, pools and
    stored policy; then only the sync is recorded."""
    allocated = result.allocated
    return (
        result.base == result.merged
        and result.inbound_delta == 0
        and product.allocation_policy is not None
        and product.pool_base == allocated.pool_after
        and product.b2c_stock == allocated.b2c_after
    )


def pulled_change(
    product: Product, result: Merge, seen_at: datetime | None, level: LevelRead
) -> PulledChange:
    """Shopify's side of a merge with nothing to send, for ``apply_inbound``: the pool moves
    by Shopify's change and both sides agree on the pool after it."""
    return PulledChange(
        product.product_id,
        product.shopify_base,
        result.inbound_delta,
        result.merged,
        seen_at,
        level_reference(level),
        allocation=result.allocation,
        expected_policy=product.allocation_policy,
        agreed_pool=result.allocated.pool_after,
    )
