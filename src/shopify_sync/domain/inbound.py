"""Inbound levels: what a batch of ``inventory_levels/update`` deliveries does to our rows.

Pure: the store reads the products the deliveries name (locked) and the event ids it has
already recorded, ``plan_levels`` decides, and the store writes the plan in the same
transaction. Deliveries are planned in arrival order against the rows as the earlier ones
left them, so a batch gives the same result as applying its deliveries one by one.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shopify_sync.domain.allocation import DEFAULT_ALLOCATION, Allocation, published
from shopify_sync.domain.commands import ApplyInventoryLevel, WebhookMeta
from shopify_sync.domain.model import (
    InboundOutcome,
    Product,
    ProductStock,
    PulledChange,
    ShopifyLevel,
    WebhookEvent,
    WebhookStatus,
)
from shopify_sync.domain.reconcile import ahead_of_clock, classify_inbound, newest
from shopify_sync.types import SHOPIFY_QUANTITY_LIMIT, InventoryItemId, LocationId, ProductId

INVENTORY_TOPIC = "inventory_levels/update"
SOURCE = f"webhook:{INVENTORY_TOPIC}"
DUPLICATE = "duplicate delivery"


@dataclass(frozen=True, slots=True)
class InboundTarget:
    """A product linked to an inventory item, as far as an inbound level needs it."""

    stock: ProductStock
    sync_enabled: bool
    in_flight: bool
    """A write of ours is in flight (``push_key`` is set)."""
    b2b_stock: int = 0
    pool_base: int | None = None
    allocation: Allocation | None = None
    """The product's own allocation as stored; None when it has none yet (it gets one at
    its first agreement, which the pending scan runs)."""

    @classmethod
    def of(cls, product: Product) -> InboundTarget:
        """The target a full product row makes."""
        own = product.allocation_policy is not None
        return cls(
            product.stock,
            product.sync_enabled,
            product.push_key is not None,
            product.b2b_stock,
            product.pool_base,
            product.allocation(DEFAULT_ALLOCATION) if own else None,
        )

    @property
    def pool(self) -> int:
        """The pool Shopify sells from (requires an allocation)."""
        assert self.allocation is not None
        return self.allocation.pool(self.b2b_stock, self.stock.ours)


@dataclass(frozen=True, slots=True)
class LevelView:
    """What the store read for a batch, in its transaction."""

    seen: frozenset[str]
    """Event ids and webhook (delivery) ids already recorded among the batch's."""
    products: Mapping[InventoryItemId, Sequence[InboundTarget]]
    """The products linked to each inventory item the batch names, in id order."""


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    """What a webhook did: recorded status, or a duplicate; products owed a re-read."""

    status: WebhookStatus | None
    detail: str
    duplicate: bool = False
    refresh: tuple[ProductId, ...] = field(default_factory=tuple)
    moved: int = 0
    """Products whose pool it moved (Shopify-side changes pulled): 0 for our own
    write coming back, which is applied and changes nothing."""


@dataclass(frozen=True, slots=True)
class LevelPlan:
    """The batch's writes, in delivery order, and one outcome per delivery."""

    now: datetime
    outcomes: tuple[WebhookOutcome, ...]
    writes: tuple[PulledChange, ...]
    refresh: tuple[ProductId, ...]
    events: tuple[WebhookEvent, ...]


def plan_levels(
    cmds: Sequence[ApplyInventoryLevel],
    view: LevelView,
    *,
    now: datetime,
    location_id: LocationId,
) -> LevelPlan:
    """Plan a batch of deliveries; a delivery seen before (or earlier in the batch) is a
    duplicate and changes nothing."""
    rows = {p.stock.product_id: p for targets in view.products.values() for p in targets}
    items = Counter(cmd.inventory_item_id for cmd in cmds)
    taken = set(view.seen)
    outcomes: list[WebhookOutcome] = []
    writes: list[PulledChange] = []
    refresh: dict[ProductId, None] = {}
    events: list[WebhookEvent] = []
    for cmd in cmds:
        meta = cmd.meta
        if meta.event_id in taken or (meta.webhook_id and meta.webhook_id in taken):
            outcomes.append(WebhookOutcome(None, DUPLICATE, duplicate=True))
            continue
        taken.add(meta.event_id)
        if meta.webhook_id:
            taken.add(meta.webhook_id)
        linked = [rows[p.stock.product_id] for p in view.products.get(cmd.inventory_item_id, ())]
        before = len(writes)
        status, detail, wanted = _plan_level(cmd, linked, location_id, writes, now)
        if items[cmd.inventory_item_id] > 1:  # a later delivery of the batch sees the change
            for write in writes[before:]:
                rows[write.product_id] = _after(rows[write.product_id], write)
        refresh.update(dict.fromkeys(wanted))
        moved = sum(1 for write in writes[before:] if write.delta)
        # A write that asks for a pass itself (a cap or buffer to restore) wakes the worker
        # like a re-read request, without a statement of its own.
        passes = tuple(w.product_id for w in writes[before:] if w.refresh)
        outcomes.append(WebhookOutcome(status, detail, refresh=wanted + passes, moved=moved))
        events.append(webhook_event(meta, now, status, detail))
    return LevelPlan(now, tuple(outcomes), tuple(writes), tuple(refresh), tuple(events))


def webhook_event(
    meta: WebhookMeta, now: datetime, status: WebhookStatus, detail: str
) -> WebhookEvent:
    """The ``webhook_events`` row of a delivery handled now."""
    return WebhookEvent(
        event_id=meta.event_id,
        webhook_id=meta.webhook_id,
        topic=meta.topic,
        shop_domain=meta.shop_domain,
        triggered_at=meta.triggered_at,
        received_at=now,
        processed_at=now,
        status=status,
        detail=detail[:2000],
    )


def _plan_level(
    cmd: ApplyInventoryLevel,
    products: Sequence[InboundTarget],
    location_id: LocationId,
    writes: list[PulledChange],
    now: datetime,
) -> tuple[WebhookStatus, str, tuple[ProductId, ...]]:
    if cmd.location_id != location_id:
        return "ignored", f"location {cmd.location_id} is not the synced location {location_id}", ()
    if not products:
        return "ignored", f"no product is linked to inventory item {cmd.inventory_item_id}", ()
    if cmd.available is None:
        return "ignored", "the level has no available quantity (untracked or disconnected)", ()
    details: list[str] = []
    refresh: list[ProductId] = []
    status: WebhookStatus = "ignored"
    for target in products:
        outcome, text = _plan_product(target, cmd, cmd.available, writes, now)
        details.append(f"{target.stock.product_id}: {text}")
        if outcome == "refresh":
            refresh.append(target.stock.product_id)
        if outcome in ("applied", "refresh"):
            status = "processed"
    return status, "; ".join(details), tuple(refresh)


def _plan_product(
    target: InboundTarget,
    cmd: ApplyInventoryLevel,
    available: int,
    writes: list[PulledChange],
    now: datetime,
) -> tuple[str, str]:
    if not target.sync_enabled:
        return "ignored", "sync disabled"
    if target.in_flight:
        return "refresh", "a write of ours is in flight; re-reading the level afterwards"
    if ahead_of_clock(cmd.updated_at, now):
        return "refresh", (
            f"updated_at {cmd.updated_at} is ahead of our clock ({now:%Y-%m-%dT%H:%M:%SZ});"
            " re-reading the level"
        )
    stock = target.stock
    outcome = classify_inbound(
        stock, ShopifyLevel(cmd.inventory_item_id, available, cmd.updated_at)
    )
    if outcome is InboundOutcome.STALE:
        return "ignored", f"stale: updated_at {cmd.updated_at} is older than the last applied"
    if outcome is InboundOutcome.AMBIGUOUS:
        return "refresh", "same second as the last applied change; re-reading the level"
    if outcome is InboundOutcome.FIRST_SYNC:
        return "refresh", "not synced yet; running the first sync"
    allocation = target.allocation
    if allocation is None:
        return "refresh", "no allocation policy of its own yet; running the first sync"
    assert stock.base is not None
    delta = available - stock.base
    pool = target.pool + delta
    column = allocation.pool_column
    if abs(pool) > SHOPIFY_QUANTITY_LIMIT:
        # Our column and Shopify both refuse it; the re-read's merge records the problem.
        return "refresh", f"{column} {target.pool:+d} by {delta:+d} is out of range; re-reading"
    # Shopify must show the pool's published quantity. A change of ours already makes the
    # product pending (its pool differs from pool_base); otherwise a published quantity
    # other than Shopify's (a cap or buffer to restore) asks for a pass, carried by the
    # write itself.
    shown = published(pool, allocation)
    restore = shown != available and target.pool == target.pool_base
    writes.append(
        PulledChange(
            stock.product_id,
            stock.base,
            delta,
            available,
            cmd.updated_at,
            cmd.meta.event_id,
            stock.inventory_item_id,
            stock.seen_at,
            allocation,
            allocation.policy,
            refresh=restore,
        )
    )
    text = f"available {available}, {column} {delta:+d}"
    if restore:
        return "applied", f"{text}; Shopify is to show {shown}, pushing it"
    return "applied", text


def _after(target: InboundTarget, write: PulledChange) -> InboundTarget:
    """The row as ``write`` leaves it, for the deliveries after it in the same batch."""
    stock = target.stock
    shared = write.allocation.policy == "shared"
    moved = dataclasses.replace(
        stock,
        ours=write.new_base if shared else stock.ours + write.delta,
        base=write.new_base,
        seen_at=newest(stock.seen_at, write.seen_at),
    )
    return dataclasses.replace(
        target,
        stock=moved,
        b2b_stock=target.b2b_stock + (write.delta if shared else 0),
        pool_base=None if target.pool_base is None else target.pool_base + write.delta,
    )
