"""Allocation policies: which pool Shopify sells from, and the quantity it is shown (pure).

- ``split`` (the default): Shopify sells from ``b2c_stock`` and the B2B platform from
  ``b2b_stock``; units move between them only by an operator's allocation.
- ``shared``: one physical stock, ``b2b_stock``, that both channels sell from. A Shopify
  sale lowers ``b2b_stock``; a B2B sale lowers what Shopify shows. ``b2c_stock`` then holds
  the quantity published to Shopify, so readers of ``b2c_stock`` still read what it sells.

For both, a ``buffer`` keeps the last units off Shopify and a ``cap`` bounds what it shows.
The published quantity is :func:`published` of the pool. The three-way merge
(:func:`merge_allocated`) works on it: Shopify's change since the agreed base goes into the
pool it came from, and the published quantity is recomputed from the pool. An oversold pool
(below zero) is published as is: Shopify keeps showing the negative, never a 0 that hides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from shopify_sync.errors import InvalidQuantity, InvalidRequest
from shopify_sync.types import MAX_QUANTITY, InitialSource

AllocationPolicy = Literal["split", "shared"]
POLICIES: tuple[AllocationPolicy, ...] = get_args(AllocationPolicy)
PoolColumn = Literal["b2c_stock", "b2b_stock"]


@dataclass(frozen=True, slots=True)
class Allocation:
    """One product's policy, buffer and cap (see the module docstring).

    Raises:
        InvalidRequest: an unknown policy name.
        InvalidQuantity: a negative buffer or cap, or one beyond what Shopify accepts.
    """

    policy: AllocationPolicy = "split"
    buffer: int = 0
    cap: int | None = None

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise InvalidRequest(
                f"unknown allocation policy {self.policy!r}: use {' or '.join(POLICIES)}"
            )
        if not 0 <= self.buffer <= MAX_QUANTITY:
            raise InvalidQuantity(
                f"the buffer must be between 0 and {MAX_QUANTITY:,} units, not {self.buffer}"
            )
        if self.cap is not None and not 0 <= self.cap <= MAX_QUANTITY:
            raise InvalidQuantity(
                f"the cap must be between 0 and {MAX_QUANTITY:,} units, not {self.cap}"
            )

    @property
    def pool_column(self) -> PoolColumn:
        """The column Shopify sells from."""
        return "b2b_stock" if self.policy == "shared" else "b2c_stock"

    def pool(self, b2b_stock: int, b2c_stock: int) -> int:
        """The pool Shopify sells from, given the product's two stocks."""
        return b2b_stock if self.policy == "shared" else b2c_stock


DEFAULT_ALLOCATION = Allocation()


def allocation_of(
    policy: str | None, buffer: int | None, cap: int | None, default: Allocation
) -> Allocation:
    """A product's allocation: its own values, or ``default``'s when it has none.

    Buffer and cap fall back only when the product has neither its own policy nor buffer
    nor cap: a product's own settings without a buffer mean "no buffer", without a cap
    "no cap" (so a product synced before policies existed, ``split`` with both NULL, keeps
    showing its whole pool whatever the settings' default says later).
    """
    if policy is None and buffer is None and cap is None:
        return default
    return Allocation(
        policy=default.policy if policy is None else policy,  # type: ignore[arg-type]  # checked in __post_init__
        buffer=0 if buffer is None else buffer,
        cap=cap,
    )


def published(pool: int, allocation: Allocation) -> int:
    """The quantity Shopify shows for ``pool``: the pool minus the buffer, never below zero,
    never above the cap; an oversold pool (below zero) as is, so the oversell stays visible."""
    if pool < 0:
        return pool
    shown = max(pool - allocation.buffer, 0)
    return shown if allocation.cap is None else min(shown, allocation.cap)


def explain(b2b_stock: int, b2c_stock: int, allocation: Allocation) -> str:
    """How the published quantity comes about, in one line for operators.

    e.g. "Shopify shows 7: pool 12 (b2b_stock, shared) minus buffer 5 = 7; cap 50 not reached".
    """
    pool = allocation.pool(b2b_stock, b2c_stock)
    shown = published(pool, allocation)
    head = f"Shopify shows {shown}: pool {pool} ({allocation.pool_column}, {allocation.policy})"
    if pool < 0:
        return f"{head} is oversold and shown as is"
    parts = [head]
    if allocation.buffer:
        after = pool - allocation.buffer
        parts[0] += f" minus buffer {allocation.buffer} = {after}"
        if after < 0:
            parts[0] += ", shown as 0"
    if allocation.cap is not None:
        reached = max(pool - allocation.buffer, 0) > allocation.cap
        parts.append(f"cap {allocation.cap} {'reached' if reached else 'not reached'}")
    return "; ".join(parts)


def switch(b2b: int, b2c: int, old: Allocation, new: Allocation) -> tuple[int, int]:
    """The stocks ``(b2b_stock, b2c_stock)`` after a product's allocation changes from
    ``old`` to ``new``: no unit is lost or invented (the physical stock is
    ``b2b + b2c`` under ``split``, ``b2b`` under ``shared``).

    - ``split`` to ``shared``: the two pools become one, ``b2b := b2b + b2c``, and
      ``b2c_stock`` mirrors what Shopify is to show of it (``published`` under ``new``);
    - ``shared`` to ``split``: what Shopify shows now (``published`` under ``old``) becomes
      its own pool ``b2c_stock`` and leaves ``b2b_stock``;
    - the same policy: the stocks stay (a buffer or cap changes only what is published).
    """
    if old.policy == new.policy:
        return b2b, b2c
    if new.policy == "shared":
        pool = b2b + b2c
        return pool, published(pool, new)
    shown = published(b2b, old)
    return b2b - shown, shown


def describe_change(old: Allocation, new: Allocation) -> str:
    """An allocation change in words for the audit trail, e.g.
    "split -> shared, buffer 0 -> 5, cap none -> 50" (unchanged parts left out, but the
    policy always named)."""
    parts = [old.policy if old.policy == new.policy else f"{old.policy} -> {new.policy}"]
    if old.buffer != new.buffer:
        parts.append(f"buffer {old.buffer} -> {new.buffer}")
    if old.cap != new.cap:
        parts.append(f"cap {_cap_text(old.cap)} -> {_cap_text(new.cap)}")
    return ", ".join(parts)


def _cap_text(cap: int | None) -> str:
    return "none" if cap is None else str(cap)


@dataclass(frozen=True, slots=True)
class AllocatedMerge:
    """The three-way merge of one product under its allocation: what to write on each side.

    ``pool_delta`` is Shopify's change since the agreed base, applied to the pool it came
    from (``allocation.pool_column``); ``merged`` is the published quantity of the pool
    after it, which Shopify must show: ``write`` it with compare-and-set ``theirs`` unless
    Shopify holds it already. After both are done the agreed base becomes ``merged``.
    """

    allocation: Allocation
    b2b_stock: int
    b2c_stock: int
    theirs: int
    base: int | None
    pool_delta: int
    merged: int

    @property
    def pool_before(self) -> int:
        """The pool as our row holds it."""
        return self.allocation.pool(self.b2b_stock, self.b2c_stock)

    @property
    def pool_after(self) -> int:
        """The pool once Shopify's change is in."""
        return self.pool_before + self.pool_delta

    @property
    def b2b_after(self) -> int:
        """``b2b_stock`` after the merge."""
        return self.b2b_stock + (self.pool_delta if self.allocation.policy == "shared" else 0)

    @property
    def b2c_after(self) -> int:
        """``b2c_stock`` after the merge: the pool (split) or the published quantity (shared)."""
        if self.allocation.policy == "shared":
            return self.merged
        return self.b2c_stock + self.pool_delta

    @property
    def write(self) -> int | None:
        """The quantity to set on Shopify, or None when it already shows the merged value."""
        return None if self.merged == self.theirs else self.merged

    @property
    def oversold(self) -> bool:
        """True when the pool is below zero: both channels sold the same units."""
        return self.pool_after < 0


def merge_allocated(
    b2b_stock: int,
    b2c_stock: int,
    base: int | None,
    theirs: int,
    allocation: Allocation,
    *,
    initial_source: InitialSource = "b2b",
) -> AllocatedMerge:
    """Merge our pools with Shopify's ``available`` under ``allocation``.

    Args:
        b2b_stock: our ``b2b_stock``.
        b2c_stock: our ``b2c_stock``.
        base: the published quantity both sides last agreed on (None before the first sync).
        theirs: Shopify's ``available`` at our location, as just read.
        allocation: the product's policy, buffer and cap.
        initial_source: who wins without an agreed base. ``"b2b"`` publishes our pool;
            ``"shopify"`` takes Shopify's quantity into a ``split`` pool (a ``shared`` pool
            is the B2B platform's own stock and is never replaced by Shopify's number).
    """
    pool = allocation.pool(b2b_stock, b2c_stock)
    if base is None:
        delta = theirs - pool if initial_source == "shopify" and allocation.policy == "split" else 0
    else:
        delta = theirs - base
    return AllocatedMerge(
        allocation, b2b_stock, b2c_stock, theirs, base, delta, published(pool + delta, allocation)
    )
