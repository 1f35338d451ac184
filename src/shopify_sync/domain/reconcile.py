"""The three-way merge of one product (see shared/design/sync-semantics.md), and the
classification of a level Shopify reports.

``ours`` is our pool (``b2c_stock`` under ``split``), ``theirs`` Shopify's ``available``,
``base`` the last value both sides agreed on. ``ours - base`` is our change not yet pushed
and ``theirs - base`` is Shopify's change not yet applied; the merge keeps both (without
buffer or cap: ``merged = ours + theirs - base``). The merge itself is
``domain.allocation.merge_allocated``; :class:`Merge` is one product's, with its ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shopify_sync.domain.allocation import (
    DEFAULT_ALLOCATION,
    AllocatedMerge,
    Allocation,
    merge_allocated,
)
from shopify_sync.domain.model import InboundOutcome, Product, ProductStock, ShopifyLevel
from shopify_sync.types import MAX_QUANTITY, InitialSource, InventoryItemId, ProductId


@dataclass(frozen=True, slots=True)
class Merge:
    """The result of merging one product: what to write on each side.

    The merge itself is ``domain.allocation.merge_allocated`` (``allocated``), the one
    merge: Shopify's change since the agreed base goes into the product's pool, and Shopify
    must show the pool's published quantity. ``write`` is the quantity to set on Shopify
    with compare-and-set expected value ``theirs`` (None when Shopify already holds
    ``merged``); ``inbound_delta`` is Shopify's change applied to the pool. After both are
    done, ``base`` becomes ``merged``.
    """

    product_id: ProductId
    inventory_item_id: InventoryItemId
    allocated: AllocatedMerge

    @property
    def allocation(self) -> Allocation:
        """The product's allocation the merge worked under."""
        return self.allocated.allocation

    @property
    def ours(self) -> int:
        """The pool as our row holds it (``b2c_stock`` under ``split``)."""
        return self.allocated.pool_before

    @property
    def theirs(self) -> int:
        """Shopify's ``available`` as read."""
        return self.allocated.theirs

    @property
    def base(self) -> int | None:
        """The quantity both sides last agreed on (None before the first sync)."""
        return self.allocated.base

    @property
    def merged(self) -> int:
        """The quantity Shopify must show: the published quantity of the merged pool."""
        return self.allocated.merged

    @property
    def inbound_delta(self) -> int:
        """Shopify's side of the merge: the change to our pool."""
        return self.allocated.pool_delta

    @property
    def write(self) -> int | None:
        """The quantity to set on Shopify, or None when it already holds the merged value."""
        return self.allocated.write

    @property
    def expected(self) -> int:
        """The compare-and-set value for the write: Shopify's ``available`` as read."""
        return self.theirs

    @property
    def changed(self) -> bool:
        """True when either side moves, or when the agreed base must be (re)set."""
        return self.write is not None or self.inbound_delta != 0 or self.base != self.merged

    @property
    def oversold(self) -> bool:
        """True when the merged pool is negative: both channels sold the same units.

        Kept as is (Shopify sells past zero when "continue selling" is on), but flagged.
        """
        return self.allocated.oversold

    @property
    def out_of_range(self) -> bool:
        """True when Shopify (or our columns) would refuse the merged quantity or pool
        (beyond +-1,000,000,000)."""
        return not all(
            -MAX_QUANTITY <= value <= MAX_QUANTITY
            for value in (self.merged, self.allocated.pool_after)
        )


def merge(stock: ProductStock, theirs: int, *, initial_source: InitialSource = "b2b") -> Merge:
    """Merge our B2C stock with Shopify's ``available``, keeping both sides' changes: the
    ``split`` case without buffer or cap of :func:`merge_product` (``merged = ours + theirs -
    base``), for callers that hold only the B2C side.

    Args:
        stock: our side: ``ours`` and the agreed ``base`` (None before the first sync).
        theirs: Shopify's ``available`` at our location, as just read.
        initial_source: who wins when there is no agreed base: ``"b2b"`` pushes ours,
            ``"shopify"`` takes Shopify's quantity.
    """
    allocated = merge_allocated(
        0, stock.ours, stock.base, theirs, DEFAULT_ALLOCATION, initial_source=initial_source
    )
    return Merge(stock.product_id, stock.inventory_item_id, allocated)


def merge_product(
    product: Product,
    theirs: int,
    allocation: Allocation,
    *,
    initial_source: InitialSource = "b2b",
) -> Merge:
    """Merge one product (with its inventory item resolved) under ``allocation``.

    Raises:
        ValueError: when the inventory item is not resolved yet.
    """
    if product.inventory_item_id is None:
        raise ValueError(f"product {product.product_id} has no inventory item yet")
    allocated = merge_allocated(
        product.b2b_stock,
        product.b2c_stock,
        product.shopify_base,
        theirs,
        allocation,
        initial_source=initial_source,
    )
    return Merge(product.product_id, product.inventory_item_id, allocated)


def classify_inbound(stock: ProductStock, level: ShopifyLevel) -> InboundOutcome:
    """Decide whether a level Shopify reported may be applied to our row.

    Shopify's timestamps have one-second resolution and come from Shopify's clock,
    never ours: an older level is stale, one in the same second as the newest change
    we applied is ambiguous (re-read rather than guess).
    """
    if stock.base is None:
        return InboundOutcome.FIRST_SYNC
    if stock.seen_at is not None and level.updated_at is not None:
        if level.updated_at < stock.seen_at:
            return InboundOutcome.STALE
        # The same second is only ambiguous when it would move our stock: a level equal
        # to the agreed base (typically our own write coming back) changes nothing either way.
        if level.updated_at == stock.seen_at and level.available != stock.base:
            return InboundOutcome.AMBIGUOUS
    return InboundOutcome.APPLY


def inbound_delta(stock: ProductStock, available: int) -> int:
    """The change to our ``b2c_stock`` when Shopify reports ``available``: ``available - base``.

    Our own write coming back as a webhook gives 0: no echo, no time window.
    """
    if stock.base is None:
        raise ValueError("inbound_delta needs an agreed base; run the first sync instead")
    return available - stock.base


FUTURE_TOLERANCE = timedelta(minutes=2)
"""How far a Shopify timestamp may lie ahead of our clock and still be believed: clock
skew between two NTP-synced machines plus Shopify's one-second resolution, with room."""


def ahead_of_clock(updated_at: datetime | None, now: datetime) -> bool:
    """True when Shopify's ``updated_at`` lies further ahead of ``now`` than the tolerance.

    Such a level must never become ``shopify_seen_at``: every genuine update after it
    would look stale until our clock caught up. It is re-read instead (like the same
    second), and its timestamp is not recorded.
    """
    return updated_at is not None and updated_at - now > FUTURE_TOLERANCE


def credible(updated_at: datetime | None, now: datetime) -> datetime | None:
    """``updated_at`` when it may be recorded as ``shopify_seen_at``; None when it lies
    ahead of our clock (see ``ahead_of_clock``)."""
    return None if ahead_of_clock(updated_at, now) else updated_at


def newest(a: datetime | None, b: datetime | None) -> datetime | None:
    """The later of two Shopify timestamps, ignoring a missing one."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
