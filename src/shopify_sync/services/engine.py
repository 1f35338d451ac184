"""The sync engine: one path that merges and pushes a set of products in batches.

It serves ``POST /sync/{id}``, ``POST /sync/all``, the scheduled reconcile, the pending-change
scan and the retries. Per batch: resend any write whose outcome is unknown, read Shopify's levels
(250 per call), merge each product (``domain.reconcile``), apply Shopify's side to our rows with
compare-and-set, store the writes to Shopify before sending them (one ``inventorySetQuantities``
of up to 250 entries, one idempotency key), and settle them on a definite answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import structlog

from shopify_sync.domain.model import (
    Change,
    LevelRead,
    LogRecord,
    Product,
    PulledChange,
    PushStart,
    QuantityWrite,
    SetQuantities,
    SyncFailure,
    WriteErrorKind,
)
from shopify_sync.domain.reconcile import Merge, credible, merge
from shopify_sync.errors import StoreError, StoreRejected
from shopify_sync.services.monitoring import NO_METRICS
from shopify_sync.services.ports import Clock, Metrics, StoreClient, UnitOfWork, UnitOfWorkFactory
from shopify_sync.types import InitialSource, InventoryItemId, ProductId, VariantId

log = structlog.get_logger(__name__)

BATCH_SIZE = 250
"""Shopify's limit for one array argument: entries per write, ids per read."""
LOGGED_IDS = 20
"""Product ids a "sync failed" line names; it gives the count, each row has its error."""
IN_FLIGHT_WAIT_S = 3.0
"""How long a sync waits for another task's write to the same products to be answered."""
IN_FLIGHT_POLL_S = 0.05
SNAPSHOT_CHUNK = 2000
"""Snapshot levels merged per database round trip in a bulk reconcile."""

Action = Literal[
    "in_sync", "pushed", "pulled", "merged", "failed", "skipped", "not_linked", "disabled"
]


@dataclass(frozen=True, slots=True)
class SyncPolicy:
    """How the engine retries and who wins at a first sync."""

    initial_source: InitialSource = "b2b"
    max_attempts: int = 8
    backoff_base_s: float = 5.0
    backoff_cap_s: float = 900.0
    max_rounds: int = 4
    """How often one call re-reads and re-merges products whose write went stale."""
    reference_prefix: str = "gid://shopify-sync/SyncBatch"


@dataclass(frozen=True, slots=True)
class ProductResult:
    """What one product's sync did."""

    product_id: ProductId
    action: Action
    b2c_stock: int | None = None
    shopify_available: int | None = None
    merged: int | None = None
    write: int | None = None
    error: str | None = None


@dataclass(slots=True)
class SyncReport:
    """What one sync call did, product by product."""

    results: dict[ProductId, ProductResult] = field(default_factory=dict)
    api_writes: int = 0
    started_at: datetime | None = None
    """When the sync picked these products up (push latency counts from here)."""

    def add(self, result: ProductResult) -> None:
        """Record (or replace) a product's result."""
        self.results[result.product_id] = result

    @property
    def checked(self) -> int:
        """Products looked at."""
        return len(self.results)

    @property
    def changed(self) -> int:
        """Products whose stock moved on either side."""
        return sum(r.action in ("pushed", "pulled", "merged") for r in self.results.values())

    @property
    def pushed(self) -> int:
        """Products whose change of ours was written to Shopify."""
        return sum(r.action in ("pushed", "merged") for r in self.results.values())

    @property
    def pulled(self) -> int:
        """Products whose Shopify-side change was taken into our row."""
        return sum(r.action in ("pulled", "merged") for r in self.results.values())

    @property
    def failed(self) -> int:
        """Products that failed this time (recorded in ``sync_error``)."""
        return sum(r.action == "failed" for r in self.results.values())


@dataclass(slots=True)
class SyncTotals:
    """Counts over many sync calls (a reconcile keeps these, not every product's result)."""

    checked: int = 0
    changed: int = 0
    failed: int = 0
    api_writes: int = 0
    pushed: int = 0
    pulled: int = 0

    def add(self, report: SyncReport) -> None:
        """Fold one call's report in."""
        self.checked += report.checked
        self.changed += report.changed
        self.failed += report.failed
        self.api_writes += report.api_writes
        self.pushed += report.pushed
        self.pulled += report.pulled

    def add_totals(self, other: SyncTotals) -> None:
        """Fold other totals in."""
        self.checked += other.checked
        self.changed += other.changed
        self.failed += other.failed
        self.api_writes += other.api_writes
        self.pushed += other.pushed
        self.pulled += other.pulled


class SyncEngine:
    """Merges and pushes products; every use case that syncs goes through here."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        store: StoreClient,
        clock: Clock,
        policy: SyncPolicy = SyncPolicy(),
        *,
        new_key: Callable[[], str] = lambda: str(uuid.uuid4()),
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.metrics = metrics
        self._uow = uow
        self._store = store
        self._clock = clock
        self._policy = policy
        self._new_key = new_key

    # -- entry points ---------------------------------------------------------------------

    async def sync(self, products: Sequence[Product], *, source: str) -> SyncReport:
        """Sync these products now: resend writes in flight, then merge and push the rest."""
        report = SyncReport(started_at=self._clock.now())
        todo: list[Product] = []
        for product in products:
            if not product.sync_enabled:
                report.add(ProductResult(product.product_id, "disabled", product.b2c_stock))
            elif not product.linked:
                report.add(ProductResult(product.product_id, "not_linked", product.b2c_stock))
            else:
                todo.append(product)
        await self.resend_in_flight({p.push_key for p in todo if p.push_key}, report, source)
        ids = [p.product_id for p in todo]
        for round_ in range(self._policy.max_rounds):
            fresh = await self._load_syncable(ids, report)
            if not fresh:
                break
            ids = await self._sync_round(
                fresh, report, source, final=round_ == self._policy.max_rounds - 1
            )
            if not ids:
                break
        return report

    async def plan(
        self, products: Sequence[Product]
    ) -> list[tuple[Product, LevelRead, Merge | None]]:
        """Read and merge without writing anything (a dry run)."""
        linked = [p for p in products if p.sync_enabled and p.inventory_item_id is not None]
        levels = await self._store.read_levels(
            [p.inventory_item_id for p in linked if p.inventory_item_id]
        )
        planned: list[tuple[Product, LevelRead, Merge | None]] = []
        for product in linked:
            assert product.inventory_item_id is not None
            level = levels[product.inventory_item_id]
            result = (
                merge(product.stock, level.available, initial_source=self._policy.initial_source)
                if level.available is not None and level.known
                else None
            )
            planned.append((product, level, result))
        return planned

    async def resend_in_flight(
        self, keys: Iterable[str] | None, report: SyncReport, source: str
    ) -> None:
        """Resend writes whose outcome is unknown, exactly, until Shopify answers (case 12)."""
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
            await self._send(write, products, report, source)

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
            async with self._uow() as uow:
                rest = await uow.products.syncable(
                    after=after, limit=BATCH_SIZE * 4, not_synced_since=started
                )
            if not rest:
                return totals
            after = rest[-1].product_id
            totals.add(await self.sync(rest, source=source))

    async def _reconcile_chunk(
        self,
        levels: Mapping[InventoryItemId, LevelRead],
        started: datetime,
        totals: SyncTotals,
        source: str,
    ) -> None:
        async with self._uow() as uow:
            products = [
                p
                for p in await uow.products.by_inventory_items(levels)
                if p.sync_enabled and p.parked_at is None and p.push_key is None
            ]
        report = SyncReport(started_at=self._clock.now())
        again = await self._sync_round(
            products, report, source, final=False, levels=levels, read_at=started
        )
        if again:
            async with self._uow() as uow:
                moved = await uow.products.get_many(again)
            for product_id in again:
                report.results.pop(product_id, None)
            retry = await self.sync(moved, source=source)
            report.results.update(retry.results)
            report.api_writes += retry.api_writes
        totals.add(report)

    async def resolve_items(self, limit: int = BATCH_SIZE) -> SyncReport:
        """Store the inventory item of products the Inventory Service linked by variant only."""
        async with self._uow() as uow:
            products = await uow.products.unresolved(limit=limit, now=self._clock.now())
        report = SyncReport()
        if products:
            await self._resolve(products, report)
        return report

    # -- one round ------------------------------------------------------------------------

    async def _load_syncable(self, ids: Sequence[ProductId], report: SyncReport) -> list[Product]:
        """Reload rows; resolve inventory items; leave out what is in flight or unlinked."""
        async with self._uow() as uow:
            products = await uow.products.get_many(ids)
        if any(p.inventory_item_id is None for p in products):
            await self._resolve(products, report)
            async with self._uow() as uow:
                products = await uow.products.get_many(ids)
        products = await self._await_in_flight(products, report)
        ready = []
        for product in products:
            if product.push_key is not None:
                if product.product_id in report.results:
                    continue  # its resend just failed, and says so
                report.add(
                    ProductResult(
                        product.product_id, "skipped", product.b2c_stock,
                        error="a write to Shopify is still waiting for its answer; retried shortly",
                    )
                )  # fmt: skip
            elif product.inventory_item_id is not None and product.sync_enabled:
                ready.append(product)
        return ready

    async def _await_in_flight(self, products: list[Product], report: SyncReport) -> list[Product]:
        """Let a write another task or process started for these products settle first.

        Its answer usually arrives within moments; if it does not, resend it ourselves (the
        same request and key, so Shopify replays rather than applies twice).
        """
        waiting = [p for p in products if p.push_key and p.product_id not in report.results]
        if not waiting:
            return products
        ids = [p.product_id for p in products]
        for _ in range(int(IN_FLIGHT_WAIT_S / IN_FLIGHT_POLL_S)):
            await self._clock.sleep(IN_FLIGHT_POLL_S)
            async with self._uow() as uow:
                products = await uow.products.get_many(ids)
            if not any(p.push_key and p.product_id not in report.results for p in products):
                return products
        keys = {p.push_key for p in products if p.push_key and p.product_id not in report.results}
        await self.resend_in_flight(keys, report, "resend")
        async with self._uow() as uow:
            return await uow.products.get_many(ids)

    async def _resolve(self, products: Sequence[Product], report: SyncReport) -> None:
        variants: dict[VariantId, Product] = {}
        malformed: list[Product] = []
        for product in products:
            if product.inventory_item_id is None:
                variant = parse_variant_id(product.shopify_variant_id or "")
                if variant is None:
                    malformed.append(product)
                else:
                    variants[variant] = product
        try:
            found = await self._store.resolve_inventory_items(list(variants))
        except StoreError as exc:
            await self._fail_products(
                [p.product_id for p in variants.values()], exc, report, "resolve the variant"
            )
            return
        now = self._clock.now()
        async with self._uow() as uow:
            for variant, product in variants.items():
                if variant in found:
                    await uow.products.set_inventory_item(product.product_id, found[variant], now)
                else:
                    malformed.append(product)
            unknown = {
                product.product_id: (
                    f"Shopify has no variant {product.shopify_variant_id!r}: fix the link "
                    "(shopify-sync products link) and retry"
                )
                for product in malformed
            }
            await self._fail(uow, unknown, permanent=True)
            for product in malformed:
                report.add(
                    ProductResult(
                        product.product_id, "failed", product.b2c_stock,
                        error=unknown[product.product_id],
                    )
                )  # fmt: skip
            await uow.commit()

    async def _sync_round(
        self,
        products: list[Product],
        report: SyncReport,
        source: str,
        *,
        final: bool,
        levels: Mapping[InventoryItemId, LevelRead] | None = None,
        read_at: datetime | None = None,
    ) -> list[ProductId]:
        """Read (unless ``levels`` came from a snapshot), merge, apply and push once.

        Returns the products to run again with a fresh read (stale CAS, a row that moved,
        a snapshot older than what we applied since).
        """
        if levels is None:
            items = [p.inventory_item_id for p in products if p.inventory_item_id is not None]
            read_at = self._clock.now()
            try:
                levels = await self._store.read_levels(items)
            except StoreError as exc:
                await self._fail_products(
                    [p.product_id for p in products], exc, report, "read Shopify's levels"
                )
                return []
            from_snapshot = False
        else:
            from_snapshot = True
        again: list[ProductId] = []
        to_push: list[tuple[Product, Merge]] = []
        to_settle: list[tuple[Product, Merge, LevelRead]] = []
        problems: list[tuple[Product, str, int | None]] = []
        for product in products:
            assert product.inventory_item_id is not None
            level = levels.get(product.inventory_item_id)
            problem = _level_problem(product, level)
            if problem is not None:
                problems.append((product, problem, None))
                continue
            assert level is not None and level.available is not None
            if from_snapshot and _older_than_applied(product, level):
                again.append(product.product_id)  # a webhook applied something newer meanwhile
                continue
            result = merge(
                product.stock, level.available, initial_source=self._policy.initial_source
            )
            if result.out_of_range:
                message = f"merged quantity {result.merged} is outside what Shopify accepts"
                problems.append((product, message, level.available))
            elif result.write is not None:
                if result.oversold:
                    log.warning(
                        "oversold", product_id=product.product_id, merged=result.merged,
                        detail="both channels sold the same units; Shopify shows below zero",
                    )  # fmt: skip
                to_push.append((product, result))
            else:
                to_settle.append((product, result, level))
        if problems:
            async with self._uow() as uow:
                await self._fail(
                    uow, {product.product_id: message for product, message, _ in problems},
                    permanent=True,
                )  # fmt: skip
                for product, message, available in problems:
                    report.add(
                        ProductResult(
                            product.product_id, "failed", product.b2c_stock, available,
                            error=message,
                        )
                    )  # fmt: skip
                await uow.commit()
        if to_settle:
            again.extend(await self._settle_without_write(to_settle, report, source, read_at))
        for start in range(0, len(to_push), BATCH_SIZE):
            again.extend(await self._push(to_push[start : start + BATCH_SIZE], report, source))
        if final and again:
            # Out of rounds this call: the pending scan picks them up again shortly.
            async with self._uow() as uow:
                await uow.products.request_refresh(again, self._clock.now())
                await uow.commit()
        return again

    async def _settle_without_write(
        self,
        settle: Sequence[tuple[Product, Merge, LevelRead]],
        report: SyncReport,
        source: str,
        read_at: datetime | None,
    ) -> list[ProductId]:
        """Shopify already holds the merged values: apply its side to our rows, in one
        transaction, each compare-and-set on the base; returns the rows that moved meanwhile."""
        now = self._clock.now()
        in_sync: list[ProductId] = []
        newer_seen: dict[str, datetime | None] = {}
        pulled: list[tuple[Product, Merge, LevelRead]] = []
        for product, result, level in settle:
            if result.base != result.merged or result.inbound_delta != 0:
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
                    PulledChange(
                        product.product_id,
                        product.shopify_base,
                        result.inbound_delta,
                        result.merged,
                        credible(level.updated_at, now),
                        _level_reference(level),
                    )
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
                self.metrics.pulled(1, "sync")
            report.add(
                ProductResult(
                    product.product_id, action, product.b2c_stock + result.inbound_delta,
                    level.available, result.merged,
                )
            )  # fmt: skip
        return again

    async def _push(
        self, batch: Sequence[tuple[Product, Merge]], report: SyncReport, source: str
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
                    PushStart(p.product_id, p.shopify_base, r.merged, r.expected, r.ours)
                    for p, r in batch
                ],
                now,
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
                reference_document_uri=f"{self._policy.reference_prefix}/{key}",
                entries=tuple(
                    QuantityWrite(r.inventory_item_id, r.merged, r.expected)
                    for _, r in sorted(accepted, key=lambda pr: pr[1].inventory_item_id)
                ),
            )
            await uow.writes.add(write, now)
            await uow.commit()
        products = [p for p, _ in accepted]
        again.extend(await self._send(write, products, report, source))
        return again

    async def _send(
        self, write: SetQuantities, products: Sequence[Product], report: SyncReport, source: str
    ) -> list[ProductId]:
        """Send a stored write and settle it; returns products to run again."""
        ids = [p.product_id for p in products]
        report.api_writes += 1
        try:
            result = await self._store.set_quantities(write)
        except StoreRejected as exc:
            # A definite refusal of the whole request: nothing was written.
            async with self._uow() as uow:
                await uow.products.abandon_push(write.idempotency_key, self._clock.now())
                await uow.writes.remove(write.idempotency_key)
                await self._fail(
                    uow, dict.fromkeys(ids, f"Shopify refused the write: {exc}"), permanent=False
                )
                await uow.commit()
            self._report_failed(products, report, f"Shopify refused the write: {exc}")
            return []
        except StoreError as exc:
            # Unknown outcome or not sent: keep the write and resend it, same key, later.
            async with self._uow() as uow:
                await uow.writes.failed_attempt(write.idempotency_key, str(exc))
                await self._fail(
                    uow, dict.fromkeys(ids, f"push to Shopify failed: {exc}"), permanent=False
                )
                await uow.commit()
            self._report_failed(products, report, f"push to Shopify failed: {exc}")
            return []
        now = self._clock.now()
        if result.applied:
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
            self.metrics.pushed(
                len(done), None if started is None else (now - started).total_seconds()
            )
            for p in done:
                inbound = (p.push_expected or 0) - (
                    p.shopify_base if p.shopify_base is not None else (p.push_expected or 0)
                )
                report.add(
                    ProductResult(
                        p.product_id, "merged" if inbound else "pushed", p.b2c_stock + inbound,
                        p.push_quantity, p.push_quantity, p.push_quantity,
                    )
                )  # fmt: skip
            return []
        # Refused whole (Shopify applies all or nothing): sort out who caused it.
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
            await self._fail(uow, refused, permanent=True)
            for product in products:
                if product.product_id in refused:
                    report.add(
                        ProductResult(
                            product.product_id, "failed", product.b2c_stock,
                            error=refused[product.product_id],
                        )
                    )  # fmt: skip
            await uow.commit()
        if any(
            e.kind is WriteErrorKind.PERMANENT and e.inventory_item_id is None
            for e in result.errors
        ):
            message = "; ".join(f"{e.code}: {e.message}" for e in result.errors)
            async with self._uow() as uow:
                await self._fail(
                    uow, dict.fromkeys(ids, f"Shopify refused the write: {message}"),
                    permanent=False,
                )  # fmt: skip
                await uow.commit()
            self._report_failed(products, report, f"Shopify refused the write: {message}")
            return []
        log.info(
            "write refused, re-merging",
            key=write.idempotency_key,
            codes=sorted({e.code for e in result.errors}),
            products=len(products),
        )
        return [p.product_id for p in products if p.inventory_item_id not in permanent]

    # -- failures ---------------------------------------------------------------------------

    async def _fail_products(
        self, ids: Sequence[ProductId], exc: StoreError, report: SyncReport, what: str
    ) -> None:
        message = f"could not {what}: {exc}"
        async with self._uow() as uow:
            products = await self._fail(uow, dict.fromkeys(ids, message), permanent=False)
            await uow.commit()
        self._report_failed(products, report, message)

    @staticmethod
    def _report_failed(products: Iterable[Product], report: SyncReport, message: str) -> None:
        for product in products:
            report.add(
                ProductResult(product.product_id, "failed", product.b2c_stock, error=message)
            )

    async def _fail(
        self, unit: UnitOfWork, messages: Mapping[ProductId, str], *, permanent: bool
    ) -> list[Product]:
        """Record a failure of each product (``messages``: what failed, for each): the
        message for operators, backoff, or parking. One statement for them all and one log
        line per distinct message, however many products a failed batch names. Returns the
        products as they were read (unknown ids left out)."""
        now = self._clock.now()
        failures: list[SyncFailure] = []
        logged: dict[str, list[tuple[Product, datetime | None]]] = {}
        products = await unit.products.get_many(messages)
        for product in products:
            attempt = product.sync_attempts + 1
            when: datetime | None = None
            if permanent or attempt >= self._policy.max_attempts:
                tail = (
                    "parked: fix the cause, then `shopify-sync retry "
                    f"{product.product_id}` or retry it on the admin page"
                )
            else:
                when = now + timedelta(seconds=self.backoff_s(attempt))
                tail = (
                    f"attempt {attempt} of {self._policy.max_attempts}; "
                    f"next try at {when:%Y-%m-%d %H:%M:%S} UTC"
                )
            message = messages[product.product_id]
            text = f"{now:%Y-%m-%d %H:%M:%S} UTC: {message} ({tail})"
            failures.append(SyncFailure(product.product_id, text[:2000], when))
            logged.setdefault(message, []).append((product, when))
        await unit.products.record_failures(failures, now)
        self.metrics.sync_failed(len(failures))
        for message, failed in logged.items():
            retried = [when for _, when in failed if when is not None]
            log.warning(
                "sync failed",
                error=message,
                products=len(failed),
                product_ids=[p.product_id for p, _ in failed[:LOGGED_IDS]],
                attempts=sorted({p.sync_attempts + 1 for p, _ in failed}),
                next_attempt_at=min(retried).isoformat() if retried else None,
                parked=len(failed) - len(retried),
            )
        return products

    def backoff_s(self, attempt: int) -> float:
        """Seconds before retry ``attempt`` (exponential, capped)."""
        return float(
            min(self._policy.backoff_cap_s, self._policy.backoff_base_s * 2 ** (attempt - 1))
        )


def _level_problem(product: Product, level: LevelRead | None) -> str | None:
    """Why this level cannot be merged (a permanent problem for this product), or None."""
    item = product.inventory_item_id
    if level is None or not level.known:
        return f"Shopify has no inventory item {item}: relink the product"
    if not level.tracked:
        return f"Shopify does not track inventory for item {item}: turn tracking on in Shopify"
    if level.available is None:
        return f"inventory item {item} is not stocked at our location: stock it there in Shopify"
    return None


def _older_than_applied(product: Product, level: LevelRead) -> bool:
    """A snapshot level that is not newer than the last Shopify change we applied.

    A snapshot is taken before we merge; a webhook may have applied a newer level in
    between. The same second is as doubtful as older: both are re-read.
    """
    if level.updated_at is None or product.shopify_seen_at is None:
        return False
    return level.updated_at <= product.shopify_seen_at and level.available != product.shopify_base


def _level_reference(level: LevelRead) -> str | None:
    return None if level.updated_at is None else f"level@{level.updated_at.isoformat()}"


def parse_variant_id(value: str) -> VariantId | None:
    """A variant id from ``123`` or ``gid://shopify/ProductVariant/123``; None when malformed."""
    text = value.strip().rsplit("/", 1)[-1] if value.strip().startswith("gid://") else value.strip()
    return VariantId(int(text)) if text.isdigit() and int(text) > 0 else None
