"""The pure decision per product, shared by the sync and its dry run."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shopify_sync.domain.allocation import Allocation
from shopify_sync.domain.decision import decide, level_reference, settles_locally
from shopify_sync.domain.model import LevelRead, Product
from shopify_sync.types import MAX_QUANTITY, InventoryItemId, ProductId

ITEM = InventoryItemId(7)
T0 = datetime(2026, 5, 1, 10, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 5, 1, 10, 0, 5, tzinfo=UTC)


def _product(ours: int, base: int | None, seen: datetime | None = None) -> Product:
    return Product(
        ProductId("P1"), "S", None, 0, ours, "1", ITEM, True, None, 0, None, None, base, seen
    )


@pytest.mark.parametrize(
    ("level", "words"),
    [
        (None, "no inventory item"),
        (LevelRead(ITEM, None, None, known=False), "no inventory item"),
        (LevelRead(ITEM, 5, T0, tracked=False), "does not track"),
        (LevelRead(ITEM, None, T0), "not stocked"),
    ],
)
def test_a_level_that_cannot_be_merged_fails_with_what_to_do(
    level: LevelRead | None, words: str
) -> None:
    """An unknown, untracked or unstocked item is a failure naming the fix, never a write."""
    decision = decide(_product(5, 5), level)

    assert (decision.kind, decision.merge) == ("fail", None)
    assert words in (decision.problem or "")


def test_our_change_is_a_push_and_shopifys_alone_a_settle() -> None:
    """Ours moved: push the merged quantity; only Shopify's moved: settle without a write."""
    push = decide(_product(8, 5), LevelRead(ITEM, 5, T0))
    settle = decide(_product(5, 5), LevelRead(ITEM, 3, T0))

    assert (push.kind, push.merge and push.merge.write) == ("push", 8)
    assert (settle.kind, settle.merge and settle.merge.inbound_delta) == ("settle", -2)
    assert (push.changed, settle.changed) == (True, True)


def test_a_snapshot_level_older_than_what_we_applied_is_re_read() -> None:
    """Only a snapshot level is doubted: the same level read fresh is merged."""
    product = _product(5, 5, seen=T1)
    level = LevelRead(ITEM, 9, T0)

    assert decide(product, level, from_snapshot=True).kind == "reread"
    assert decide(product, level).kind == "settle"


def test_a_merge_shopify_would_refuse_fails() -> None:
    """A merged quantity beyond Shopify's range is a failure, with the merge kept."""
    decision = decide(_product(MAX_QUANTITY, 0), LevelRead(ITEM, 5, T0))

    assert decision.kind == "fail"
    assert decision.merge is not None and decision.merge.merged == MAX_QUANTITY + 5


def test_a_level_is_referenced_by_its_timestamp() -> None:
    """The audit log names the level read by Shopify's timestamp, or nothing without one."""
    assert level_reference(LevelRead(ITEM, 1, T0)) == f"level@{T0.isoformat()}"
    assert level_reference(LevelRead(ITEM, 1, None)) is None


def _owned(b2b: int, b2c: int, base: int | None, allocation: Allocation, pool_base: int) -> Product:
    """A product with its own allocation, agreed on ``pool_base``."""
    return replace(
        _product(b2c, base),
        b2b_stock=b2b,
        allocation_policy=allocation.policy,
        allocation_buffer=allocation.buffer,
        allocation_cap=allocation.cap,
        pool_base=pool_base,
    )


def test_a_shared_product_takes_shopifys_sale_into_b2b_stock() -> None:
    """Shared with buffer 5: Shopify sold 2 of the 15 it showed; b2b_stock 20 -> 18, and
    Shopify is to show 13, which it does: a settle, no write."""
    product = _owned(20, 15, 15, Allocation("shared", 5), 20)

    decision = decide(product, LevelRead(ITEM, 13, T0))

    assert decision.kind == "settle" and decision.merge is not None
    allocated = decision.merge.allocated
    assert (allocated.b2b_after, allocated.b2c_after, decision.merge.merged) == (18, 13, 13)


def test_the_settings_default_applies_only_without_an_own_policy() -> None:
    """A product without its own allocation is decided under the default (shared pool 10
    less buffer 4: Shopify is to show 6); one with its own (split, no buffer) ignores the
    default's buffer."""
    default = Allocation("shared", 4)
    plain = replace(_product(6, None), b2b_stock=10)
    own = _owned(10, 6, 6, Allocation("split"), 6)

    first = decide(plain, LevelRead(ITEM, 3, T0), default_allocation=default)
    kept = decide(own, LevelRead(ITEM, 6, T0), default_allocation=default)

    assert (first.kind, first.merge and first.merge.write) == ("push", 6)
    assert first.merge is not None and first.merge.allocation == default
    assert (kept.kind, kept.merge and kept.merge.allocation) == ("settle", Allocation("split"))


def test_a_reached_cap_settles_a_pool_move_locally() -> None:
    """Cap 50 with 80 units: a B2B move to 70 leaves Shopify at 50, so no read is needed;
    a move below the cap, a re-read request or a product without its own policy need one."""
    capped = Allocation(cap=50)

    assert settles_locally(_owned(0, 70, 50, capped, 80))
    assert not settles_locally(_owned(0, 40, 50, capped, 80))
    assert not settles_locally(replace(_owned(0, 70, 50, capped, 80), refresh_requested=True))
    assert not settles_locally(replace(_owned(0, 70, 50, capped, 80), allocation_policy=None))
    assert not settles_locally(_owned(0, 70, 50, capped, 70))  # nothing moved
