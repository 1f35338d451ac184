"""Use case: change a product's allocation policy, buffer or cap (CLI, admin page, CSV).

A change moves the product's stocks as ``domain.allocation.switch`` says (never losing or
inventing a unit), writes its own policy columns, logs both, and asks for a pass so that
Shopify shows the new published quantity. It never overlaps a write to Shopify of that
product: it waits for the write's answer first (a policy cannot change mid-write), and
gives up with ``WriteInFlight`` when none comes in time, having changed nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from shopify_sync.domain.allocation import Allocation, explain
from shopify_sync.domain.commands import ChangeAllocation
from shopify_sync.domain.model import AllocationChange, Product
from shopify_sync.errors import InvalidRequest, UnknownProduct, WriteInFlight
from shopify_sync.services.engine import SyncEngine
from shopify_sync.services.ports import Clock, UnitOfWorkFactory
from shopify_sync.services.sync.report import ProductResult

SOURCE = "allocation"
"""The audit trail's source of an allocation change (and of the sync it starts)."""
WRITE_WAIT_S = 30.0
"""How long a change waits for a write in flight on its products to be answered."""
WRITE_POLL_S = 0.1
ATTEMPTS = 5
"""How often a change is re-read and retried when its row moved between read and write
(a B2B write, a webhook) before the change gives up."""


@dataclass(frozen=True, slots=True)
class AllocationResult:
    """A product's allocation before and after, the units moved, what Shopify is to show
    and why (``explanation``: ``domain.allocation.explain`` of the product afterwards),
    and the sync it triggered if any."""

    before: Product
    after: Product
    old: Allocation
    new: Allocation
    b2b_moved: int
    b2c_moved: int
    explanation: str
    sync: ProductResult | None = None

    @property
    def changed(self) -> bool:
        """True when the product's row was changed."""
        return self.before != self.after


def requested_allocation(cmd: ChangeAllocation, current: Allocation) -> Allocation:
    """The allocation ``cmd`` asks for, from the product's ``current`` one.

    Raises:
        InvalidRequest: an unknown policy, or a cap given together with ``clear_cap``.
        InvalidQuantity: a negative buffer or cap, or one beyond what Shopify accepts.
    """
    if cmd.clear_cap and cmd.cap is not None:
        raise InvalidRequest("give a cap or remove it (--no-cap), not both")
    cap = None if cmd.clear_cap else current.cap if cmd.cap is None else cmd.cap
    return Allocation(
        policy=current.policy if cmd.policy is None else cmd.policy,  # type: ignore[arg-type]  # checked in __post_init__
        buffer=current.buffer if cmd.buffer is None else cmd.buffer,
        cap=cap,
    )


async def wait_for_writes(
    product_ids: Sequence[str],
    uow: UnitOfWorkFactory,
    clock: Clock,
    *,
    timeout_s: float = WRITE_WAIT_S,
) -> list[Product]:
    """The products, once none of them has a write to Shopify in flight (in id order).

    Polls every ``WRITE_POLL_S``; the CSV import waits for all its rows with this, then
    applies them in one transaction.

    Raises:
        UnknownProduct: one of the ids names no product.
        WriteInFlight: a write was still unanswered after ``timeout_s``; nothing changed.
    """
    polls = max(1, round(timeout_s / WRITE_POLL_S))
    for attempt in range(polls + 1):
        async with uow() as unit:
            products = await unit.products.get_many(product_ids)
        if len(products) != len(set(product_ids)):
            found = {p.product_id for p in products}
            raise UnknownProduct(next(str(p) for p in product_ids if p not in found))
        busy = [p.product_id for p in products if p.push_key is not None]
        if not busy:
            return products
        if attempt < polls:
            await clock.sleep(WRITE_POLL_S)
    raise WriteInFlight([str(p) for p in busy], timeout_s)


async def change_allocation(
    cmd: ChangeAllocation,
    uow: UnitOfWorkFactory,
    engine: SyncEngine,
    clock: Clock,
    default: Allocation,
    *,
    wait_s: float = WRITE_WAIT_S,
) -> AllocationResult:
    """Change one product's allocation (see the module docstring); with ``cmd.push`` the
    product is synced at once, otherwise the pending scan tells Shopify.

    Args:
        default: the settings' allocation, the current one of a product without its own.

    Raises:
        UnknownProduct: no such product.
        InvalidRequest, InvalidQuantity: a bad policy, buffer or cap; nothing changed.
        WriteInFlight: a write to Shopify for the product stayed unanswered; nothing changed.
    """
    requested_allocation(cmd, default)  # refuse bad values before waiting for anything
    for _ in range(ATTEMPTS):
        (before,) = await wait_for_writes([cmd.product_id], uow, clock, timeout_s=wait_s)
        old = before.allocation(default)
        change = AllocationChange.of(before, old, requested_allocation(cmd, old))
        if not change.changed:
            return _result(change, before)
        async with uow() as unit:
            written = await unit.products.set_allocation(
                change, reference=cmd.reference, now=clock.now()
            )
            after = await unit.products.get(cmd.product_id)
            await unit.commit()
        if written and after is not None:
            return await _pushed(_result(change, after), cmd.push, engine)
    raise WriteInFlight([str(cmd.product_id)], wait_s)


def _result(change: AllocationChange, after: Product) -> AllocationResult:
    return AllocationResult(
        change.before,
        after,
        change.old,
        change.new,
        after.b2b_stock - change.before.b2b_stock,
        after.b2c_stock - change.before.b2c_stock,
        explain(after.b2b_stock, after.b2c_stock, change.new),
    )


async def _pushed(result: AllocationResult, push: bool, engine: SyncEngine) -> AllocationResult:
    after = result.after
    if not (push and after.sync_enabled and after.linked):
        return result
    report = await engine.sync([after], source=SOURCE)
    return dataclasses.replace(result, sync=report.results.get(after.product_id))
