"""The three-way merge of one product's B2C stock (see shared/design/sync-semantics.md).

``ours`` is our ``b2c_stock``, ``theirs`` Shopify's ``available``, ``base`` the last value
both sides agreed on. ``ours - base`` is our change not yet pushed and ``theirs - base`` is
Shopify's change not yet applied; the merge keeps both: ``merged = ours + theirs - base``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shopify_sync.domain.model import InboundOutcome, ProductStock, ShopifyLevel
from shopify_sync.types import MAX_QUANTITY, InitialSource, InventoryItemId, ProductId


@dataclass(frozen=True, slots=True)
class Merge:
    """The result of merging one product: what to write on each side.

    ``write`` is the quantity to set on Shopify with compare-and-set expected value
    ``theirs`` (None when Shopify already holds ``merged``). ``inbound_delta`` is the
    change to apply to our ``b2c_stock`` (Shopify's side of the merge). After both are
    done, ``base`` becomes ``merged``.
    """

    product_id: ProductId
    inventory_item_id: InventoryItemId
    ours: int
    theirs: int
    base: int | None
    merged: int
    inbound_delta: int

    @property
    def write(self) -> int | None:
        """The quantity to set on Shopify, or None when it already holds the merged value."""
        return None if self.merged == self.theirs else self.merged

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
        """True when the merged quantity is negative: both channels sold the same units.

        Kept as is (Shopify sells past zero when "continue selling" is on), but flagged.
        """
        return self.merged < 0

    @property
    def out_of_range(self) -> bool:
        """True when Shopify would refuse the merged quantity (beyond +-1,000,000,000)."""
        return not -MAX_QUANTITY <= self.merged <= MAX_QUANTITY


def merge(stock: ProductStock, theirs: int, *, initial_source: InitialSource = "b2b") -> Merge:
    """Merge our B2C stock with Shopify's ``available``, keeping both sides' changes.

    Args:
        stock: our side: ``ours`` and the agreed ``base`` (None before the first sync).
        theirs: Shopify's ``available`` at our location, as just read.
        initial_source: who wins when there is no agreed base: ``"b2b"`` pushes ours,
            ``"shopify"`` takes Shopify's quantity.

    Returns:
        The merge, from which the caller writes Shopify (``write`` with CAS ``expected``)
        and our row (``b2c_stock += inbound_delta``, ``shopify_base := merged``).
    """
    if stock.base is None:
        merged = stock.ours if initial_source == "b2b" else theirs
    else:
        merged = stock.ours + theirs - stock.base
    return Merge(
        product_id=stock.product_id,
        inventory_item_id=stock.inventory_item_id,
        ours=stock.ours,
        theirs=theirs,
        base=stock.base,
        merged=merged,
        inbound_delta=merged - stock.ours,
    )


def merge_all(
    stocks: Iterable[ProductStock],
    levels: dict[InventoryItemId, int],
    *,
    initial_source: InitialSource = "b2b",
) -> list[Merge]:
    """Merge every product whose level Shopify reported; products without a level are skipped."""
    return [
        merge(stock, levels[stock.inventory_item_id], initial_source=initial_source)
        for stock in stocks
        if stock.inventory_item_id in levels
    ]


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
