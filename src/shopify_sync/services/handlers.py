"""Use cases: one async function per thing an entrypoint can ask for.

Entrypoints build a command and call these with the ports they need; nothing here knows
about HTTP, SQL or Shopify's wire format.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import structlog

from shopify_sync.domain.allocation import DEFAULT_ALLOCATION, Allocation, explain
from shopify_sync.domain.commands import (
    ApplyInventoryLevel,
    ReconcileAll,
    RecordOrder,
    SyncProduct,
    WebhookMeta,
)
from shopify_sync.domain.inbound import (
    DUPLICATE,
    plan_levels,
    webhook_event,
)
from shopify_sync.domain.inbound import (
    INVENTORY_TOPIC as INVENTORY_TOPIC,
)
from shopify_sync.domain.inbound import (
    WebhookOutcome as WebhookOutcome,
)
from shopify_sync.domain.model import LogRecord, Product, SyncRun, WebhookStatus
from shopify_sync.domain.reconcile import ahead_of_clock
from shopify_sync.errors import (
    ProductNotSyncable,
    StorageError,
    StorageRejected,
    StoreError,
    UnknownProduct,
    WriteConflict,
)
from shopify_sync.services.engine import SyncEngine
from shopify_sync.services.ports import Clock, LevelStore, UnitOfWork, UnitOfWorkFactory
from shopify_sync.services.sync.report import ProductResult, SyncReport, SyncTotals
from shopify_sync.types import LocationId, ProductId

log = structlog.get_logger(__name__)
T = TypeVar("T")

PAGE_SIZE = 1000
BULK_THRESHOLD = 2000
"""From this many syncable products on, a full reconcile reads one bulk snapshot."""
RECONCILE_LEASE = "reconcile"
ORDERS_TOPIC = "orders/create"


# -- outbound ------------------------------------------------------------------------------


async def sync_product(
    cmd: SyncProduct, uow: UnitOfWorkFactory, engine: SyncEngine
) -> ProductResult:
    """Merge one product with Shopify and push the result now.

    Raises:
        UnknownProduct: no such product.
        ProductNotSyncable: not linked to a variant, or sync disabled.
    """
    async with uow() as unit:
        product = await unit.products.get(cmd.product_id)
    if product is None:
        raise UnknownProduct(cmd.product_id)
    if not product.linked:
        raise ProductNotSyncable(cmd.product_id, "it is not linked to a Shopify variant")
    if not product.sync_enabled:
        raise ProductNotSyncable(cmd.product_id, "sync is disabled for it")
    report = await engine.sync([product], source=cmd.source)
    return report.results[product.product_id]


@dataclass(frozen=True, slots=True)
class ReconcileSummary:
    """What a full reconcile did."""

    checked: int
    changed: int
    failed: int
    duration_s: float
    started_at: datetime
    api_writes: int = 0


@dataclass(frozen=True, slots=True)
class PlannedChange:
    """One line of a dry run: what a reconcile would do for a product.

    ``ours`` is the product's pool (``b2c_stock`` under ``split``, ``b2b_stock`` under
    ``shared``) and ``our_change`` Shopify's change going into it; ``why`` is the policy's
    part: how the quantity Shopify is to show comes from the pool after the merge (its
    buffer and cap), e.g. "Shopify shows 42: pool 47 (b2b_stock, shared) minus buffer 5 = 42".
    """

    product_id: ProductId
    sku: str | None
    ours: int
    shopify: int | None
    base: int | None
    merged: int | None
    write: int | None
    our_change: int
    problem: str | None = None
    why: str = ""


async def reconcile_all(
    cmd: ReconcileAll,
    uow: UnitOfWorkFactory,
    engine: SyncEngine,
    clock: Clock,
    *,
    bulk_threshold: int = BULK_THRESHOLD,
) -> ReconcileSummary:
    """Merge every enabled, linked product and record the run.

    Small catalogues are read in pages (250 items per call); from ``bulk_threshold``
    products on, one bulk snapshot is cheaper in API cost and faster. A failed snapshot
    falls back to the paged reads.
    """
    started_at = clock.now()
    started = time.perf_counter()
    totals = SyncTotals()
    error: str | None = None
    try:
        report = SyncReport()
        await engine.resend_in_flight(None, report, cmd.source)
        totals.add(report)
        await engine.resolve_items()
        async with uow() as unit:
            size = await unit.products.count_syncable()
        snapshot_done = False
        if size >= bulk_threshold:
            try:
                totals.add_totals(await engine.reconcile_from_snapshot(cmd.source))
                snapshot_done = True
            except StoreError as exc:
                log.warning("bulk snapshot failed; reconciling with paged reads", error=str(exc))
        if not snapshot_done:
            after: str | None = None
            while True:
                async with uow() as unit:
                    page = await unit.products.syncable(after=after, limit=PAGE_SIZE)
                if not page:
                    break
                after = page[-1].product_id
                totals.add(await engine.sync(page, source=cmd.source, settle_locally=False))
    except Exception as exc:  # recorded for /health, then raised to the caller
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        summary = ReconcileSummary(
            checked=totals.checked,
            changed=totals.changed,
            failed=totals.failed,
            duration_s=round(time.perf_counter() - started, 3),
            started_at=started_at,
            api_writes=totals.api_writes,
        )
        engine.metrics.reconciled(
            ok=error is None,
            duration_s=summary.duration_s,
            checked=totals.checked,
            pushed=totals.pushed,
            pulled=totals.pulled,
            failed=totals.failed,
        )
        async with uow() as unit:
            await unit.runs.add(
                SyncRun(
                    "reconcile" if not cmd.source.startswith("api") else "reconcile:api",
                    started_at,
                    clock.now(),
                    summary.checked,
                    summary.changed,
                    summary.failed,
                    error,
                )
            )
            await unit.commit()
    log.info(
        "reconciled",
        checked=summary.checked,
        changed=summary.changed,
        failed=summary.failed,
        duration_s=summary.duration_s,
    )
    return summary


async def plan_reconcile(
    uow: UnitOfWorkFactory, engine: SyncEngine, default: Allocation = DEFAULT_ALLOCATION
) -> list[PlannedChange]:
    """A dry run of the full reconcile: the products that differ and what would be written,
    each with its policy's part (``default``: the allocation of a product without its own)."""
    planned: list[PlannedChange] = []
    after: str | None = None
    while True:
        async with uow() as unit:
            page = await unit.products.syncable(after=after, limit=PAGE_SIZE)
        if not page:
            return planned
        after = page[-1].product_id
        for product, level, decision in await engine.plan(page):
            result = decision.merge
            if decision.kind == "fail":
                allocation = product.allocation(default)
                b2b, b2c = product.b2b_stock, product.b2c_stock
                planned.append(
                    PlannedChange(
                        product.product_id, product.sku, allocation.pool(b2b, b2c),
                        level.available, product.shopify_base, None, None, 0, decision.problem,
                        explain(b2b, b2c, allocation),
                    )
                )  # fmt: skip
            elif result is not None and result.changed:
                allocated = result.allocated
                planned.append(
                    PlannedChange(
                        product.product_id, product.sku, result.ours, level.available,
                        product.shopify_base, result.merged, result.write, result.inbound_delta,
                        why=explain(allocated.b2b_after, allocated.b2c_after, result.allocation),
                    )
                )  # fmt: skip


async def scheduled_reconcile(
    holder: str,
    ttl: timedelta,
    uow: UnitOfWorkFactory,
    engine: SyncEngine,
    clock: Clock,
    *,
    fresh_for: timedelta | None = None,
) -> ReconcileSummary | None:
    """The periodic reconcile, run by one process at a time (a lease in the database);
    None when another process holds the lease, or when a reconcile (by any process, or
    ``sync --all``) finished less than ``fresh_for`` ago: every process's loop comes round
    once per interval, and one reconcile per interval is enough for all of them."""

    async def work() -> ReconcileSummary | None:
        if fresh_for is not None:
            async with uow() as unit:
                last = await unit.runs.last("reconcile")
            if last is not None and last.finished_at is not None:
                age = clock.now() - last.finished_at
                if age < fresh_for:
                    log.debug("reconcile skipped: one finished recently", age_s=age.seconds)
                    return None
        return await reconcile_all(ReconcileAll(source="reconcile"), uow, engine, clock)

    return await under_lease(RECONCILE_LEASE, holder, ttl, uow, clock, work)


async def under_lease(
    name: str,
    holder: str,
    ttl: timedelta,
    uow: UnitOfWorkFactory,
    clock: Clock,
    work: Callable[[], Awaitable[T]],
) -> T | None:
    """Run ``work`` while holding the lease ``name``, so one process at a time does it;
    None (and ``work`` not run) when another process holds it."""
    async with uow() as unit:
        acquired = await unit.leases.acquire(name, holder, ttl, clock.now())
        await unit.commit()
    if not acquired:
        log.debug("skipped: another process holds the lease", lease=name)
        return None
    try:
        return await work()
    finally:
        async with uow() as unit:
            await unit.leases.release(name, holder)
            await unit.commit()


async def prune_webhook_events(uow: UnitOfWorkFactory, clock: Clock, keep: timedelta) -> int:
    """Forget de-duplication records older than ``keep`` (far past Shopify's 4 h of retries)."""
    async with uow() as unit:
        removed = await unit.webhooks.prune(clock.now() - keep)
        await unit.commit()
    if removed:
        log.info("webhook events pruned", removed=removed, older_than_days=keep.days)
    return removed


async def push_pending(uow: UnitOfWorkFactory, engine: SyncEngine, clock: Clock) -> SyncReport:
    """Push what is owed and due: unresolved links, writes in flight, changes, re-reads.

    Cheap when nothing is pending (one indexed query); batched when much is.
    """
    total = SyncReport()
    # Writes in flight are resent through their products (due once their backoff passed).
    await engine.resolve_items()
    after: str | None = None
    while True:
        async with uow() as unit:
            due = await unit.products.due(clock.now(), limit=PAGE_SIZE, after=after)
        if not due:
            return total
        after = due[-1].product_id
        report = await engine.sync(due, source="pending")
        total.results.update(report.results)
        total.api_writes += report.api_writes


# -- inbound -------------------------------------------------------------------------------


MAX_CONFLICT_RETRIES = 3


async def apply_inventory_levels(
    cmds: Sequence[ApplyInventoryLevel], store: LevelStore, clock: Clock, location_id: LocationId
) -> list[WebhookOutcome]:
    """Apply ``inventory_levels/update`` deliveries: move each product's ``b2c_stock`` by
    ``available - shopify_base``.

    One short transaction for the whole batch: de-duplication, the changes and their log
    rows commit together. A batch whose writes did not land as planned (another process
    moved a row) is re-read and re-planned.
    """
    for attempt in range(1, MAX_CONFLICT_RETRIES + 1):
        now = clock.now()
        try:
            plan = await store.apply_levels(
                cmds, functools.partial(plan_levels, cmds, now=now, location_id=location_id)
            )
            break
        except WriteConflict as exc:
            if attempt == MAX_CONFLICT_RETRIES:
                raise
            log.info("webhook batch re-planned", deliveries=len(cmds), reason=str(exc))
    _log_levels(cmds, plan.outcomes, plan.now)
    return list(plan.outcomes)


def _log_levels(
    cmds: Sequence[ApplyInventoryLevel], outcomes: Sequence[WebhookOutcome], now: datetime
) -> None:
    """Each delivery at DEBUG, and at INFO those ignored (a level for an item or location
    we do not sync is worth an operator's look); ``LevelIngest`` sums up the rest. A level
    dated ahead of our clock is a WARNING: Shopify's clock or ours is wrong."""
    for cmd, outcome in zip(cmds, outcomes, strict=True):
        status = outcome.status or "duplicate"
        if status != "duplicate" and ahead_of_clock(cmd.updated_at, now):
            log.warning(
                "webhook level dated ahead of our clock; re-reading it instead",
                topic=cmd.meta.topic,
                event_id=cmd.meta.event_id,
                inventory_item_id=cmd.inventory_item_id,
                updated_at=cmd.updated_at.isoformat() if cmd.updated_at else None,
                now=now.isoformat(),
            )
        (log.info if status == "ignored" else log.debug)(
            "webhook applied",
            topic=cmd.meta.topic,
            event_id=cmd.meta.event_id,
            inventory_item_id=cmd.inventory_item_id,
            status=status,
            detail=outcome.detail,
        )


async def apply_inventory_level(
    cmd: ApplyInventoryLevel, store: LevelStore, clock: Clock, location_id: LocationId
) -> WebhookOutcome:
    """Apply one ``inventory_levels/update`` delivery (a batch of one)."""
    [outcome] = await apply_inventory_levels([cmd], store, clock, location_id)
    return outcome


async def record_order(cmd: RecordOrder, uow: UnitOfWorkFactory, clock: Clock) -> WebhookOutcome:
    """Log each line of ``orders/create`` as a sale and ask for a re-read of its items.

    It never subtracts: Shopify's ``inventory_levels/update`` carries that decrement, and
    doing both would count the sale twice. The re-read repairs a lost inventory webhook.
    """
    now = clock.now()
    async with uow() as unit:
        if await unit.webhooks.seen(cmd.meta.event_id, cmd.meta.webhook_id):
            return WebhookOutcome(None, DUPLICATE, duplicate=True)
        variants = [line.variant_id for line in cmd.lines if line.variant_id is not None]
        products = await unit.products.by_variants(variants)
        by_variant: dict[int, list[Product]] = {}
        for product in products:
            if product.inventory_item_id is not None or product.shopify_variant_id:
                by_variant.setdefault(_variant_number(product.shopify_variant_id), []).append(
                    product
                )
        records: list[LogRecord] = []
        refresh: list[ProductId] = []
        for line in cmd.lines:
            for product in by_variant.get(line.variant_id or -1, []):
                records.append(
                    LogRecord(
                        product.product_id, "inbound", f"webhook:{ORDERS_TOPIC}", "b2c_stock",
                        None, None, 0, f"gid://shopify/Order/{cmd.order_id}",
                        f"Shopify order {cmd.name}{' (test)' if cmd.test else ''}: "
                        f"{line.quantity} sold (line {line.line_item_id}); stock follows "
                        "Shopify's inventory update",
                    )
                )  # fmt: skip
                if product.sync_enabled:
                    refresh.append(product.product_id)
        await unit.log.add(records, now)
        await unit.products.request_refresh(refresh, now)
        status: WebhookStatus = "processed" if records else "ignored"
        detail = (
            f"{len(records)} line(s) of order {cmd.name} logged; re-reading {len(refresh)} item(s)"
            if records
            else f"order {cmd.name} has no line for a linked product"
        )
        if not await unit.webhooks.record(webhook_event(cmd.meta, now, status, detail)):
            await unit.rollback()
            return WebhookOutcome(None, DUPLICATE, duplicate=True)
        await unit.commit()
    log.info("order recorded", order=cmd.name, lines=len(records), event_id=cmd.meta.event_id)
    return WebhookOutcome(status, detail, refresh=tuple(refresh))


async def record_rejected_webhook(
    meta: WebhookMeta, detail: str, uow: UnitOfWorkFactory, clock: Clock
) -> None:
    """Keep a trace of a signed delivery whose payload we could not use."""
    now = clock.now()
    try:
        async with uow() as unit:
            if await unit.webhooks.record(webhook_event(meta, now, "failed", detail)):
                await unit.commit()
    except StorageRejected as exc:
        log.warning(
            "rejected webhook not recorded: the database refused its headers",
            topic=meta.topic,
            reason=detail,
            error=str(exc),
        )


def _variant_number(value: str | None) -> int:
    text = (value or "").strip().rsplit("/", 1)[-1]
    return int(text) if text.isdigit() else -1


# -- monitoring ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Health:
    """The service's state for ``GET /health``."""

    database_ok: bool
    database_error: str | None
    products: dict[str, int]
    last_reconcile: SyncRun | None
    in_flight_writes: int


async def health(uow: UnitOfWorkFactory) -> Health:
    """Database reachability, product counts, the last reconcile, writes awaiting an answer."""
    try:
        async with uow() as unit:
            counts = dict(await unit.products.counts())
            last = await _last_reconcile(unit)
            in_flight = len(await unit.writes.keys())
    except StorageError as exc:
        return Health(False, str(exc), {}, None, 0)
    return Health(True, None, counts, last, in_flight)


async def last_reconcile(uow: UnitOfWorkFactory) -> SyncRun | None:
    """The newest reconcile, scheduled or started by hand (what ``/health`` reports too)."""
    async with uow() as unit:
        return await _last_reconcile(unit)


async def _last_reconcile(unit: UnitOfWork) -> SyncRun | None:
    runs = [await unit.runs.last(kind) for kind in ("reconcile", "reconcile:api")]
    return max((r for r in runs if r is not None), key=lambda r: r.started_at, default=None)


async def products_for(uow: UnitOfWorkFactory, ids: Sequence[ProductId]) -> list[Product]:
    """Load products by id (for entrypoints that report on them)."""
    async with uow() as unit:
        return await unit.products.get_many(ids)
