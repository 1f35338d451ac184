"""The sync engine: the coordinator that runs a sync's stages in order, in batches.

It serves ``POST /sync/{id}``, ``POST /sync/all``, the scheduled reconcile, the pending-change
scan and the retries. Per round: select the rows (``sync.selection``: resend writes in flight,
resolve variants), settle without a read what Shopify is not to see (a pool move a cap or
buffer absorbs), read Shopify's levels (250 per call) or take them from a snapshot, decide
each product under its allocation (``domain.decision``), settle Shopify's side on our
rows (``sync.settling``), write the rest with a write-ahead record (``sync.writing``), and
record failures (``sync.failure``). Each stage lives in its own module; this one only orders them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

import structlog

from shopify_sync.domain.decision import Decision, decide, settles_locally
from shopify_sync.domain.model import LevelRead, Product
from shopify_sync.domain.reconcile import Merge
from shopify_sync.errors import StoreError
from shopify_sync.services.monitoring import NO_METRICS
from shopify_sync.services.ports import Clock, Metrics, StoreClient, SyncUnitOfWorkFactory
from shopify_sync.services.sync.failure import FailurePolicy
from shopify_sync.services.sync.report import DEFAULT_SYNC_POLICY
from shopify_sync.services.sync.report import (
    # Re-exported: what the coordinator takes and returns, where its callers look for it.
    ProductResult as ProductResult,
)
from shopify_sync.services.sync.report import SyncPolicy as SyncPolicy
from shopify_sync.services.sync.report import SyncReport as SyncReport
from shopify_sync.services.sync.report import SyncTotals as SyncTotals
from shopify_sync.services.sync.selection import Selection
from shopify_sync.services.sync.settling import Settlement
from shopify_sync.services.sync.writing import Writer
from shopify_sync.types import InventoryItemId, ProductId

log = structlog.get_logger(__name__)

SNAPSHOT_CHUNK = 2000
"""Snapshot levels merged per database round trip in a bulk reconcile."""


class SyncEngine:
    """Merges and pushes products; every use case that syncs goes through here."""

    def __init__(
        self,
        uow: SyncUnitOfWorkFactory,
        store: StoreClient,
        clock: Clock,
        policy: SyncPolicy = DEFAULT_SYNC_POLICY,
        *,
        new_key: Callable[[], str] = lambda: str(uuid.uuid4()),
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.metrics = metrics
        self._uow = uow
        self._store = store
        self._clock = clock
        self._policy = policy
        self.failures = FailurePolicy(uow, clock, policy, metrics)
        self.settle = Settlement(uow, clock, self.failures, metrics)
        self.writer = Writer(
            uow, store, clock, self.settle,
            new_key=new_key, reference_prefix=policy.reference_prefix,
        )  # fmt: skip
        self.selection = Selection(uow, store, clock, self.failures, self.writer)

    async def sync(
        self, products: Sequence[Product], *, source: str, settle_locally: bool = True
    ) -> SyncReport:
        """Sync these products now: resend writes in flight, then merge and push the rest.

        With ``settle_locally`` a product whose only change is a pool move that Shopify need
        not see (a cap or buffer absorbs it) is settled without reading Shopify; a reconcile
        passes False: it reads every product, or a lost webhook would never be repaired.
        """
        report = SyncReport(started_at=self._clock.now())
        todo = self.selection.triage(products, report)
        await self.writer.resend_in_flight({p.push_key for p in todo if p.push_key}, report, source)
        ids = [p.product_id for p in todo]
        for round_ in range(self._policy.max_rounds):
            fresh = await self.selection.load(ids, report)
            if not fresh:
                break
            ids = await self._round(
                fresh, report, source, final=round_ == self._policy.max_rounds - 1,
                settle_locally=settle_locally,
            )  # fmt: skip
            if not ids:
                break
        return report

    async def plan(self, products: Sequence[Product]) -> list[tuple[Product, LevelRead, Decision]]:
        """Read and decide without writing anything (a dry run): the same decision as a sync."""
        linked = [p for p in products if p.sync_enabled and p.inventory_item_id is not None]
        levels = await self._store.read_levels(
            [p.inventory_item_id for p in linked if p.inventory_item_id]
        )
        planned: list[tuple[Product, LevelRead, Decision]] = []
        for product in linked:
            assert product.inventory_item_id is not None
            level = levels[product.inventory_item_id]
            planned.append((product, level, self._decide(product, level)))
        return planned

    async def resend_in_flight(
        self, keys: Iterable[str] | None, report: SyncReport, source: str
    ) -> None:
        """Resend writes whose outcome is unknown, exactly, until Shopify answers (case 12)."""
        await self.writer.resend_in_flight(keys, report, source)

    async def resolve_items(self) -> SyncReport:
        """Store the inventory item of products the Inventory Service linked by variant only."""
        return await self.selection.resolve_items()

    def backoff_s(self, attempt: int) -> float:
        """Seconds before retry ``attempt`` (exponential, capped)."""
        return self.failures.backoff_s(attempt)

    async def reconcile_from_snapshot(
        self, source: str, *, chunk: int = SNAPSHOT_CHUNK
    ) -> SyncTotals:
        """Reconcile every product against one bulk snapshot of Shopify's levels.

        The snapshot is streamed and merged ``chunk`` levels at a time, so memory stays flat
        however large the catalogue; API calls grow with what differs (writes of 250), not
        with the catalogue. Products the snapshot did not cover (not stocked at our location,
        unknown items) and rows that moved meanwhile are then synced with fresh reads.
        """
        totals = SyncTotals()
        started = self._clock.now()
        buffer: dict[InventoryItemId, LevelRead] = {}
        async for level in self._store.snapshot_levels():
            buffer[level.inventory_item_id] = level
            if len(buffer) >= chunk:
                await self._reconcile_chunk(buffer, started, totals, source)
                buffer = {}
        if buffer:
            await self._reconcile_chunk(buffer, started, totals, source)
        after: str | None = None
        while True:
            rest = await self.selection.not_synced_since(started, after)
            if not rest:
                return totals
            after = rest[-1].product_id
            totals.add(await self.sync(rest, source=source, settle_locally=False))

    async def _reconcile_chunk(
        self,
        levels: Mapping[InventoryItemId, LevelRead],
        started: datetime,
        totals: SyncTotals,
        source: str,
    ) -> None:
        products = await self.selection.for_snapshot(levels)
        report = SyncReport(started_at=self._clock.now())
        again = await self._round(
            products, report, source, final=False, levels=levels, read_at=started
        )
        if again:
            moved = await self.selection.reload(again)
            for product_id in again:
                report.results.pop(product_id, None)
            report.merge_in(await self.sync(moved, source=source, settle_locally=False))
        totals.add(report)

    async def _round(
        self,
        products: list[Product],
        report: SyncReport,
        source: str,
        *,
        final: bool,
        levels: Mapping[InventoryItemId, LevelRead] | None = None,
        read_at: datetime | None = None,
        settle_locally: bool = False,
    ) -> list[ProductId]:
        """Read (unless ``levels`` came from a snapshot), decide, settle and push once.

        Returns the products to run again with a fresh read (stale CAS, a row that moved,
        a snapshot older than what we applied since).
        """
        from_snapshot = levels is not None
        again: list[ProductId] = []
        if levels is None:
            default = self._policy.default_allocation
            local = [p for p in products if settle_locally and settles_locally(p, default)]
            if local:
                again += await self.settle.locally(
                    local, self._policy.default_allocation, report, source
                )
                products = [p for p in products if p not in local]
                if not products:
                    return again
            items = [p.inventory_item_id for p in products if p.inventory_item_id is not None]
            read_at = self._clock.now()
            try:
                levels = await self._store.read_levels(items)
            except StoreError as exc:
                await self.failures.store_failed(
                    [p.product_id for p in products], exc, report, "read Shopify's levels"
                )
                return again
        to_push: list[tuple[Product, Merge]] = []
        to_settle: list[tuple[Product, Merge, LevelRead]] = []
        problems: dict[ProductId, tuple[Product, str, int | None]] = {}
        for product in products:
            assert product.inventory_item_id is not None
            level = levels.get(product.inventory_item_id)
            decision = self._decide(product, level, from_snapshot=from_snapshot)
            if decision.kind == "reread":
                again.append(product.product_id)  # a webhook applied something newer meanwhile
            elif decision.kind == "fail":
                assert decision.problem is not None
                available = None if decision.merge is None else decision.merge.theirs
                problems[product.product_id] = (product, decision.problem, available)
            elif decision.kind == "push":
                assert decision.merge is not None and level is not None
                if decision.merge.oversold:
                    log.warning(
                        "oversold", product_id=product.product_id, merged=decision.merge.merged,
                        detail="both channels sold the same units; Shopify shows below zero",
                    )  # fmt: skip
                to_push.append((product, decision.merge))
            else:
                assert decision.merge is not None and level is not None
                to_settle.append((product, decision.merge, level))
        if problems:
            await self._park(problems, report)
        if to_settle:
            again.extend(await self.settle.without_write(to_settle, report, source, read_at))
        again.extend(await self.writer.push(to_push, report, source, read_at=read_at))
        if final and again:
            # Out of rounds this call: the pending scan picks them up again shortly.
            async with self._uow() as uow:
                await uow.products.request_refresh(again, self._clock.now())
                await uow.commit()
        return again

    def _decide(
        self, product: Product, level: LevelRead | None, *, from_snapshot: bool = False
    ) -> Decision:
        """The one decision, for the run and its dry run alike (``domain.decision``)."""
        return decide(
            product,
            level,
            initial_source=self._policy.initial_source,
            default_allocation=self._policy.default_allocation,
            from_snapshot=from_snapshot,
        )

    async def _park(
        self, problems: Mapping[ProductId, tuple[Product, str, int | None]], report: SyncReport
    ) -> None:
        """Products that cannot be merged: recorded as permanent failures (parked)."""
        async with self._uow() as uow:
            await self.failures.record(
                uow, {pid: message for pid, (_, message, _) in problems.items()}, permanent=True
            )
            for product, message, available in problems.values():
                report.fail(product, message, available)
            await uow.commit()
