"""Domain values: one product's stock as the merge sees it, and Shopify's view of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal

from shopify_sync.domain.allocation import (
    DEFAULT_ALLOCATION,
    Allocation,
    allocation_of,
    describe_change,
    switch,
)
from shopify_sync.types import Direction, InventoryItemId, LocationId, ProductId, VariantId


@dataclass(frozen=True, slots=True)
class ProductStock:
    """Our side of one linked product: the numbers the three-way merge starts from.

    ``ours`` is ``product_inventory.b2c_stock``; ``base`` is ``shopify_base``, the last
    B2C quantity both sides agreed on (None before the first sync); ``seen_at`` is
    Shopify's timestamp of the newest Shopify change we applied.
    """

    product_id: ProductId
    inventory_item_id: InventoryItemId
    ours: int
    base: int | None
    seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ShopifyLevel:
    """Shopify's ``available`` for one inventory item at our location, with its timestamp."""

    inventory_item_id: InventoryItemId
    available: int
    updated_at: datetime | None


class InboundOutcome(Enum):
    """What to do with a level Shopify reported (webhook or read)."""

    APPLY = "apply"
    """Newer than anything applied: move our stock by Shopify's change."""
    STALE = "stale"
    """Older than the newest change already applied: ignore."""
    AMBIGUOUS = "ambiguous"
    """Same second as the newest change applied: re-read the level from Shopify instead."""
    FIRST_SYNC = "first_sync"
    """No agreed base yet: run the first sync, where the initial source of truth decides."""


@dataclass(frozen=True, slots=True)
class LevelRead:
    """One inventory item as read from Shopify at our location.

    ``available`` is None when the item is not stocked at the location; ``known`` is
    False when Shopify has no such item (deleted, or a wrong id).
    """

    inventory_item_id: InventoryItemId
    available: int | None
    updated_at: datetime | None
    tracked: bool = True
    known: bool = True


@dataclass(frozen=True, slots=True)
class QuantityWrite:
    """One compare-and-set entry: set ``quantity`` if Shopify still holds ``expected``."""

    inventory_item_id: InventoryItemId
    quantity: int
    expected: int


@dataclass(frozen=True, slots=True)
class SetQuantities:
    """One ``inventorySetQuantities`` call: up to 250 compare-and-set entries, one idempotency key.

    The same value must always produce the same request bytes, so that a write whose
    outcome is unknown can be resent exactly, with the same key, until Shopify answers.
    """

    idempotency_key: str
    reference_document_uri: str
    entries: tuple[QuantityWrite, ...]
    reason: str = "correction"


class WriteErrorKind(Enum):
    """Why Shopify refused one entry of a write."""

    STALE = "stale"
    """Shopify's quantity is no longer the expected one: re-read, re-merge, retry."""
    RETRY = "retry"
    """Refused for a passing reason (e.g. a previous attempt with the key failed): retry fresh."""
    PERMANENT = "permanent"
    """The item cannot be written (unknown, untracked, not stocked, out of range): stop for it."""


@dataclass(frozen=True, slots=True)
class WriteError:
    """Shopify's refusal of one entry (or of the whole call, when ``inventory_item_id`` is None)."""

    kind: WriteErrorKind
    code: str
    message: str
    inventory_item_id: InventoryItemId | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """A definite answer to a :class:`SetQuantities`: applied whole, or refused whole.

    ``applied_at`` is Shopify's timestamp of the adjustment group (used as ``shopify_seen_at``).
    """

    applied: bool
    applied_at: datetime | None = None
    adjustment_group_id: str | None = None
    errors: tuple[WriteError, ...] = ()


@dataclass(frozen=True, slots=True)
class Location:
    """A Shopify location."""

    id: LocationId
    name: str
    active: bool
    fulfills_online_orders: bool = True


@dataclass(frozen=True, slots=True)
class Variant:
    """A Shopify product variant with what linking needs."""

    id: VariantId
    inventory_item_id: InventoryItemId
    sku: str | None
    title: str
    tracked: bool = True


@dataclass(frozen=True, slots=True)
class Link:
    """A product's link to a Shopify variant and its inventory item (both None: unlinked)."""

    product_id: ProductId
    variant_id: str | None
    inventory_item_id: InventoryItemId | None
    title: str | None = None
    """Shopify's title for the variant: becomes the product's title when ours is empty."""


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    """One webhook subscription of our app in the store."""

    id: str
    topic: str
    """Shopify's topic in REST form, e.g. ``inventory_levels/update``."""
    uri: str


@dataclass(frozen=True, slots=True)
class Change:
    """Who makes a change to our stock columns; the audit log records it with the change."""

    direction: Direction
    source: str
    """e.g. ``webhook:inventory_levels/update``, ``api:sync``, ``reconcile``, ``admin``."""
    reference: str | None = None
    """An event id, order id or idempotency key."""


@dataclass(frozen=True, slots=True)
class PushStart:
    """One product's part of a write about to be sent: set ``quantity`` if Shopify still holds
    ``expected``, recorded only while the row still has the base, the pool and the policy
    the merge started from (a B2B sale while Shopify was being read would otherwise be
    pushed over: Shopify would show units we no longer have until the next push)."""

    product_id: ProductId
    expected_base: int | None
    quantity: int
    expected: int
    expected_pool: int
    """The pool column's value as the merge read it (``b2c_stock`` under ``split``,
    ``b2b_stock`` under ``shared``); it becomes ``pool_base``."""
    allocation: Allocation = DEFAULT_ALLOCATION
    """The allocation the merge worked under; written into the row when it had none."""
    expected_own: tuple[str | None, int | None, int | None] = (None, None, None)
    """The row's own policy, buffer and cap as read (compare-and-set)."""


@dataclass(frozen=True, slots=True)
class SyncFailure:
    """One product's failed sync attempt, as recorded on its row."""

    product_id: ProductId
    message: str
    """For operators: when, what failed, and what happens next."""
    next_attempt_at: datetime | None
    """When it is retried; None: parked until an operator retries it."""


@dataclass(frozen=True, slots=True)
class PulledChange:
    """One product's take of a change on Shopify's side (a webhook's level, or Shopify's
    side of a merge with nothing to send): move the pool by ``delta`` and agree on
    ``new_base``, recorded only while the row still has the base the change was planned
    from (``expected_base``) and no write of ours is in flight.

    The one value both writers take: the reconcile's (``ProductRepository.apply_inbound``,
    which locks the rows it checks) and the webhook hot path's (``LevelStore``, which may
    plan from a read that locked nothing and so also compares ``expected_seen_at`` and the
    link to ``inventory_item_id``).
    """

    product_id: ProductId
    expected_base: int | None
    delta: int
    new_base: int
    seen_at: datetime | None
    """Shopify's ``updated_at`` for the level; ``shopify_seen_at`` only moves forward."""
    reference: str | None
    """What the log records as the change's reference (the event id, or the level read)."""
    inventory_item_id: InventoryItemId | None = None
    """The item the plan found the product linked to (checked by an unlocked writer)."""
    expected_seen_at: datetime | None = None
    """``shopify_seen_at`` as the plan read it (checked by an unlocked writer): a newer level
    applied meanwhile with the same quantity moves only this, and makes this change stale."""
    allocation: Allocation = DEFAULT_ALLOCATION
    """The allocation the change was planned under: ``delta`` goes into its pool column
    (under ``shared`` ``b2b_stock``, and ``b2c_stock`` mirrors ``new_base``). Written into
    the row when it had no policy of its own (its first agreement)."""
    expected_policy: str | None = None
    """The row's own policy as read (compare-and-set; None: it had none)."""
    agreed_pool: int | None = None
    """``pool_base`` afterwards: the pool both sides now agree on (a merge's settle); None
    moves ``pool_base`` by ``delta`` (a webhook's level)."""
    refresh: bool = False
    """Ask for a re-read afterwards: Shopify is to show something else than ``new_base``
    (a cap or buffer to restore, a change of ours pending)."""


@dataclass(frozen=True, slots=True)
class Product:
    """One row of ``product_inventory`` as the use cases see it."""

    product_id: ProductId
    sku: str | None
    title: str | None
    b2b_stock: int
    b2c_stock: int
    shopify_variant_id: str | None
    inventory_item_id: InventoryItemId | None
    sync_enabled: bool
    sync_error: str | None
    sync_attempts: int
    next_attempt_at: datetime | None
    last_synced_at: datetime | None
    shopify_base: int | None
    shopify_seen_at: datetime | None
    refresh_requested: bool = False
    parked_at: datetime | None = None
    push_key: str | None = None
    push_quantity: int | None = None
    push_expected: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    allocation_policy: str | None = None
    allocation_buffer: int | None = None
    allocation_cap: int | None = None
    """The product's own allocation settings; None: the settings' default (written into
    the row at the product's first agreement with Shopify)."""
    pool_base: int | None = None
    """The pool column's value when both sides last agreed (None before the first)."""

    @property
    def own_allocation(self) -> tuple[str | None, int | None, int | None]:
        """The product's own policy, buffer and cap as stored (None: none of its own)."""
        return self.allocation_policy, self.allocation_buffer, self.allocation_cap

    def allocation(self, default: Allocation) -> Allocation:
        """The product's allocation: its own values, else ``default``'s."""
        return allocation_of(
            self.allocation_policy, self.allocation_buffer, self.allocation_cap, default
        )

    @property
    def linked(self) -> bool:
        """True when the product names a Shopify variant or inventory item."""
        return self.inventory_item_id is not None or bool(self.shopify_variant_id)

    @property
    def stored_pool(self) -> int:
        """The pool column's value under the product's STORED policy (``b2b_stock`` under
        ``shared``, else ``b2c_stock``), as ``adapters.db.tables.POOL`` reads it."""
        return self.b2b_stock if self.allocation_policy == "shared" else self.b2c_stock

    @property
    def pending(self) -> bool:
        """True when the pending scan owes this product a pass: sync is enabled and there
        is no agreement yet (no base, no policy of its own, no pool base), its pool moved
        since the last agreement, a re-read was requested, or a write of ours waits for
        its answer.

        The one definition of "pending"; ``adapters.db.tables.PENDING`` is the same in SQL.
        It reads the stored policy only, never the settings' default.
        """
        return self.sync_enabled and (
            self.shopify_base is None
            or self.allocation_policy is None
            or self.pool_base is None
            or self.stored_pool != self.pool_base
            or self.refresh_requested
            or self.push_key is not None
        )

    @property
    def pool_moved_only(self) -> bool:
        """Pending only because the pool moved since the last agreement: base and policy
        set, no re-read requested, no write in flight (a local settle may serve it)."""
        return (
            self.sync_enabled
            and self.shopify_base is not None
            and self.allocation_policy is not None
            and self.pool_base is not None
            and self.stored_pool != self.pool_base
            and not self.refresh_requested
            and self.push_key is None
        )

    @property
    def stock(self) -> ProductStock:
        """The numbers the merge needs.

        Raises:
            ValueError: when the inventory item is not resolved yet.
        """
        if self.inventory_item_id is None:
            raise ValueError(f"product {self.product_id} has no inventory item yet")
        return ProductStock(
            product_id=self.product_id,
            inventory_item_id=self.inventory_item_id,
            ours=self.b2c_stock,
            base=self.shopify_base,
            seen_at=self.shopify_seen_at,
        )


@dataclass(frozen=True, slots=True)
class AllocationChange:
    """One product's change of allocation (``ProductRepository.set_allocation``): its own
    policy, buffer and cap become ``new``'s and its stocks move as ``domain.allocation.switch``
    says, recorded only while the row still holds the stocks and policy columns of
    ``before`` and no write of ours is in flight."""

    before: Product
    old: Allocation
    """The allocation ``before`` had (its own, or the default when it had none)."""
    new: Allocation
    b2b_stock: int
    b2c_stock: int
    """The stocks after the switch."""

    @classmethod
    def of(cls, before: Product, old: Allocation, new: Allocation) -> AllocationChange:
        """The change of ``before`` from ``old`` to ``new``."""
        b2b, b2c = switch(before.b2b_stock, before.b2c_stock, old, new)
        return cls(before, old, new, b2b, b2c)

    @property
    def product_id(self) -> ProductId:
        """The product changed."""
        return self.before.product_id

    @property
    def b2b_delta(self) -> int:
        """Units ``b2b_stock`` moves by."""
        return self.b2b_stock - self.before.b2b_stock

    @property
    def b2c_delta(self) -> int:
        """Units ``b2c_stock`` moves by."""
        return self.b2c_stock - self.before.b2c_stock

    @property
    def pool(self) -> int:
        """The pool under ``new`` after the switch (the new ``pool_base``)."""
        return self.new.pool(self.b2b_stock, self.b2c_stock)

    @property
    def changed(self) -> bool:
        """True unless the product already has ``new`` as its own allocation."""
        own = (
            self.before.allocation_policy,
            self.before.allocation_buffer or 0,
            self.before.allocation_cap,
        )
        return own != (self.new.policy, self.new.buffer, self.new.cap)

    @property
    def detail(self) -> str:
        """The change in words, for the audit trail."""
        return describe_change(self.old, self.new)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One row of the audit trail ``inventory_sync_log``."""

    id: int
    product_id: ProductId
    direction: str
    source: str
    field: str
    old_value: int | None
    new_value: int | None
    delta: int
    reference: str | None
    detail: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LogRecord:
    """A row to append to the audit trail (one that no stock column change carries)."""

    product_id: ProductId
    direction: Direction
    source: str
    field: str
    old_value: int | None
    new_value: int | None
    delta: int
    reference: str | None = None
    detail: str | None = None


WebhookStatus = Literal["processed", "ignored", "failed"]


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One delivered webhook, as recorded in ``webhook_events`` (the de-duplication key)."""

    event_id: str
    webhook_id: str | None
    topic: str
    shop_domain: str | None
    triggered_at: datetime | None
    received_at: datetime
    processed_at: datetime | None
    status: WebhookStatus
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookRefusals:
    """Deliveries refused in one minute for one reason (e.g. ``signature``), not trusted."""

    minute: datetime
    reason: str
    refused: int
    last_at: datetime


@dataclass(frozen=True, slots=True)
class SyncRun:
    """What one sync pass did (a reconcile, a push of pending products, a manual sync)."""

    kind: str
    started_at: datetime
    finished_at: datetime | None
    checked: int
    changed: int
    failed: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ProductStates:
    """How many products are in each sync state, read for monitoring in one query.

    ``counts`` has every key of :data:`PRODUCT_STATES`; each product is in exactly one.
    """

    counts: dict[str, int]
    oldest_error_since: datetime | None
    """When the longest-standing unresolved sync error began; None without errors."""
    last_reconcile_ok_at: datetime | None
    """When the last reconcile that ended without an error finished."""


PRODUCT_STATES = ("in_sync", "pending", "error", "parked", "disabled", "unlinked")
"""The states of :class:`ProductStates`: disabled first, then unlinked, parked, in error,
with a change owed, in sync (a product takes the first that applies)."""


@dataclass(frozen=True, slots=True)
class AppAccess:
    """What Shopify grants our app: its access scopes, and the API version that answered
    (Shopify answers an unsupported version with another one; None when it did not say)."""

    scopes: tuple[str, ...]
    api_version: str | None
