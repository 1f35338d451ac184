"""The decision for one product and the level Shopify reported: push, settle, fail or re-read.

Pure. The real sync and its dry run (``sync --all --dry-run``, the reconcile preview) both
call :func:`decide`, so the preview proposes exactly what the run does: a product whose
item Shopify does not track is refused in both, never proposed a write in one and parked
in the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shopify_sync.domain.allocation import DEFAULT_ALLOCATION, Allocation, published
from shopify_sync.domain.model import LevelRead, Product
from shopify_sync.domain.reconcile import Merge, merge_product
from shopify_sync.types import InitialSource

DecisionKind = Literal["push", "settle", "fail", "reread"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one product.

    - ``push``: write ``merge.merged`` to Shopify with compare-and-set ``merge.expected``
      (after storing the write); our row moves by ``merge.inbound_delta`` once applied.
    - ``settle``: Shopify already holds the merged value; apply its side to our row only.
    - ``fail``: the product cannot be merged (``problem`` says why and what to do);
      a permanent problem: the product is parked.
    - ``reread``: the level is older than a change we applied since; read it again.
    """

    kind: DecisionKind
    merge: Merge | None = None
    problem: str | None = None

    @property
    def changed(self) -> bool:
        """True when the run would move either side or (re)set the agreed base."""
        return self.merge is not None and self.merge.changed


def decide(
    product: Product,
    level: LevelRead | None,
    *,
    initial_source: InitialSource = "b2b",
    default_allocation: Allocation = DEFAULT_ALLOCATION,
    from_snapshot: bool = False,
) -> Decision:
    """Decide one product against the level Shopify reported for its inventory item.

    Args:
        product: our row, with its inventory item resolved.
        level: Shopify's level for that item (None when the read did not return it).
        initial_source: who wins when there is no agreed base yet.
        default_allocation: the allocation of a product without its own (the settings'):
            the merge works under the product's allocation, so Shopify is to show the
            published quantity of its pool.
        from_snapshot: the level came from a bulk snapshot taken before this pass, so a
            webhook may have applied a newer level meanwhile.
    """
    problem = level_problem(product, level)
    if problem is not None:
        return Decision("fail", problem=problem)
    assert level is not None and level.available is not None
    if from_snapshot and older_than_applied(product, level):
        return Decision("reread")
    result = merge_product(
        product,
        level.available,
        product.allocation(default_allocation),
        initial_source=initial_source,
    )
    if result.out_of_range:
        return Decision(
            "fail",
            result,
            f"merged quantity {result.merged} is outside what Shopify accepts",
        )
    return Decision("push" if result.write is not None else "settle", result)


def settles_locally(product: Product, default_allocation: Allocation = DEFAULT_ALLOCATION) -> bool:
    """True when a pending product needs no read of Shopify: its only reason is that its
    pool moved since the last agreement (base and policy set, no re-read requested, no
    write in flight) and what Shopify is to show did not change (a cap still reached, a
    buffer absorbing the move). Settling it only agrees on the pool as it is now."""
    if not product.pool_moved_only:
        return False
    allocation = product.allocation(default_allocation)
    pool = allocation.pool(product.b2b_stock, product.b2c_stock)
    return published(pool, allocation) == product.shopify_base


def level_problem(product: Product, level: LevelRead | None) -> str | None:
    """Why this level cannot be merged (a permanent problem for this product), or None."""
    item = product.inventory_item_id
    if level is None or not level.known:
        return f"Shopify has no inventory item {item}: relink the product"
    if not level.tracked:
        return f"Shopify does not track inventory for item {item}: turn tracking on in Shopify"
    if level.available is None:
        return f"inventory item {item} is not stocked at our location: stock it there in Shopify"
    return None


def older_than_applied(product: Product, level: LevelRead) -> bool:
    """A snapshot level that is not newer than the last Shopify change we applied.

    A snapshot is taken before we merge; a webhook may have applied a newer level in
    between. The same second is as doubtful as older: both are re-read.
    """
    if level.updated_at is None or product.shopify_seen_at is None:
        return False
    return level.updated_at <= product.shopify_seen_at and level.available != product.shopify_base


def level_reference(level: LevelRead) -> str | None:
    """What the audit log records as the reference of a change read from ``level``."""
    return None if level.updated_at is None else f"level@{level.updated_at.isoformat()}"
