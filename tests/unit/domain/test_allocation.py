"""Allocation policies: the published quantity and the merge on it, by example and by property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopify_sync.domain.allocation import (
    DEFAULT_ALLOCATION,
    Allocation,
    allocation_of,
    describe_change,
    explain,
    merge_allocated,
    published,
    switch,
)
from shopify_sync.domain.model import ProductStock
from shopify_sync.domain.reconcile import merge
from shopify_sync.errors import InvalidQuantity, InvalidRequest
from shopify_sync.types import InventoryItemId, ProductId

stocks = st.integers(min_value=-50, max_value=500)
allocations = st.builds(
    Allocation,
    policy=st.sampled_from(["split", "shared"]),
    buffer=st.integers(min_value=0, max_value=40),
    cap=st.none() | st.integers(min_value=0, max_value=300),
)


def test_the_issue_example_is_explained() -> None:
    """Pool 12 shared, buffer 5, cap 50: Shopify shows 7, and the line says why."""
    allocation = Allocation("shared", 5, 50)

    assert published(12, allocation) == 7
    assert explain(12, 3, allocation) == (
        "Shopify shows 7: pool 12 (b2b_stock, shared) minus buffer 5 = 7; cap 50 not reached"
    )


def test_explain_names_a_floor_a_cap_and_an_oversell() -> None:
    """The line says when the buffer floors at 0, the cap is reached, or the pool is oversold."""
    assert explain(0, 3, Allocation("split", 5)) == (
        "Shopify shows 0: pool 3 (b2c_stock, split) minus buffer 5 = -2, shown as 0"
    )
    assert explain(90, 0, Allocation("shared", 0, 50)) == (
        "Shopify shows 50: pool 90 (b2b_stock, shared); cap 50 reached"
    )
    assert explain(0, -2, DEFAULT_ALLOCATION) == (
        "Shopify shows -2: pool -2 (b2c_stock, split) is oversold and shown as is"
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"policy": "pooled"}, InvalidRequest, "unknown allocation policy 'pooled'"),
        ({"buffer": -1}, InvalidQuantity, "the buffer must be between 0"),
        ({"cap": -3}, InvalidQuantity, "the cap must be between 0"),
    ],
)
def test_bad_policies_are_refused_clearly(
    kwargs: dict[str, object], error: type[Exception], words: str
) -> None:
    """An unknown policy, a negative buffer or cap is refused with what to give instead."""
    with pytest.raises(error, match=words):
        Allocation(**kwargs)  # type: ignore[arg-type]


def test_a_product_without_its_own_values_follows_the_settings() -> None:
    """A product with no values of its own follows the default; its own settings without a
    buffer or cap mean none (a policy without its own falls back to the default's)."""
    default = Allocation("shared", 3, 40)

    assert allocation_of(None, None, None, default) == default
    assert allocation_of("split", None, None, default) == Allocation("split", 0, None)
    assert allocation_of(None, 0, 10, default) == Allocation("shared", 0, 10)


@given(pool=stocks, allocation=allocations)
def test_published_is_the_pool_less_the_buffer_within_zero_and_the_cap(
    pool: int, allocation: Allocation
) -> None:
    """Never above the cap nor above the pool, never below zero unless the pool is oversold
    (then shown as is), and the pool minus the buffer whenever that fits."""
    shown = published(pool, allocation)

    if pool < 0:
        assert shown == pool
        return
    assert 0 <= shown <= pool
    if allocation.cap is not None:
        assert shown <= allocation.cap
    fits = 0 <= pool - allocation.buffer <= (allocation.cap if allocation.cap is not None else pool)
    assert (shown == pool - allocation.buffer) or not fits


@given(b2b=stocks, b2c=stocks, base=stocks, theirs=stocks, allocation=allocations)
def test_shopifys_change_goes_into_its_pool_and_nothing_else_moves(
    b2b: int, b2c: int, base: int, theirs: int, allocation: Allocation
) -> None:
    """The pool moves by exactly Shopify's change since the base (no unit lost or invented),
    the other pool does not move, and what is published is the pool's published quantity."""
    m = merge_allocated(b2b, b2c, base, theirs, allocation)

    assert m.pool_after - m.pool_before == theirs - base
    assert m.merged == published(m.pool_after, allocation)
    if allocation.policy == "shared":
        assert (m.b2b_after - b2b, m.b2c_after) == (theirs - base, m.merged)
    else:
        assert (m.b2b_after, m.b2c_after - b2c) == (b2b, theirs - base)
    assert (m.write is None) == (m.merged == theirs)
    assert (m.merged < 0) == m.oversold


@given(b2b=stocks, b2c=stocks, base=stocks, theirs=stocks, allocation=allocations)
def test_a_merge_once_agreed_is_stable(
    b2b: int, b2c: int, base: int, theirs: int, allocation: Allocation
) -> None:
    """After a merge is written and agreed on, merging again changes and writes nothing."""
    m = merge_allocated(b2b, b2c, base, theirs, allocation)

    again = merge_allocated(m.b2b_after, m.b2c_after, m.merged, m.merged, allocation)

    assert (again.pool_delta, again.write, again.merged) == (0, None, m.merged)


@given(
    b2b=stocks,
    b2c=stocks,
    base=stocks,
    sales=st.lists(st.integers(min_value=-5, max_value=10), max_size=6),
    allocation=allocations,
)
def test_sales_merged_one_by_one_or_together_end_the_same(
    b2b: int, b2c: int, base: int, sales: list[int], allocation: Allocation
) -> None:
    """Shopify sales merged after each one (writing back each time) leave the pool where
    merging them all at once does: every sale is counted once, whatever the timing."""
    start = merge_allocated(b2b, b2c, base, base, allocation)  # our side agreed on first
    one_b2b, one_b2c, agreed = start.b2b_after, start.b2c_after, start.merged
    together = merge_allocated(one_b2b, one_b2c, agreed, agreed - sum(sales), allocation)
    for sale in sales:
        step = merge_allocated(one_b2b, one_b2c, agreed, agreed - sale, allocation)
        one_b2b, one_b2c, agreed = step.b2b_after, step.b2c_after, step.merged

    assert allocation.pool(one_b2b, one_b2c) == together.pool_after
    assert agreed == together.merged


@given(ours=stocks, base=st.none() | stocks, theirs=stocks, b2b=stocks)
def test_the_default_policy_is_todays_merge(
    ours: int, base: int | None, theirs: int, b2b: int
) -> None:
    """``split`` without buffer or cap merges exactly as the original three-way merge."""
    for source in ("b2b", "shopify"):
        old = merge(
            ProductStock(ProductId("p"), InventoryItemId(1), ours, base), theirs,
            initial_source=source,
        )  # fmt: skip
        new = merge_allocated(b2b, ours, base, theirs, DEFAULT_ALLOCATION, initial_source=source)

        assert (new.merged, new.write, new.b2c_after - ours, new.b2b_after) == (
            old.merged,
            old.write,
            old.inbound_delta,
            b2b,
        )


@given(b2b=stocks, b2c=stocks, theirs=stocks, allocation=allocations)
def test_a_first_sync_publishes_the_pool_unless_shopify_wins_a_split_one(
    b2b: int, b2c: int, theirs: int, allocation: Allocation
) -> None:
    """Without an agreed base the pool is published (B2B wins); with Shopify as the source a
    split pool takes Shopify's quantity, and a shared pool (B2B's own stock) is kept."""
    b2b_wins = merge_allocated(b2b, b2c, None, theirs, allocation)
    shopify_wins = merge_allocated(b2b, b2c, None, theirs, allocation, initial_source="shopify")

    assert (b2b_wins.pool_delta, b2b_wins.merged) == (
        0,
        published(b2b_wins.pool_before, allocation),
    )
    if allocation.policy == "split":
        assert shopify_wins.pool_after == theirs
    else:
        assert shopify_wins.pool_delta == 0


@given(b2b=stocks, b2c=stocks, old=allocations, new=allocations)
def test_a_switch_never_loses_or_invents_a_unit(
    b2b: int, b2c: int, old: Allocation, new: Allocation
) -> None:
    """The physical stock (b2b + b2c under split, b2b under shared) is the same after a
    switch; a shared product's b2c_stock then mirrors what Shopify is to show, and a
    product leaving shared keeps on Shopify what it showed there."""
    after_b2b, after_b2c = switch(b2b, b2c, old, new)

    def physical(x: int, y: int, allocation: Allocation) -> int:
        return x if allocation.policy == "shared" else x + y

    assert physical(after_b2b, after_b2c, new) == physical(b2b, b2c, old)
    if old.policy == new.policy:
        assert (after_b2b, after_b2c) == (b2b, b2c)
    elif new.policy == "shared":
        assert after_b2c == published(after_b2b, new)
    else:
        assert after_b2c == published(b2b, old)


def test_an_allocation_change_is_described_for_the_audit_trail() -> None:
    """The log's words name the policy and what changed, in the design's form."""
    assert (
        describe_change(Allocation("split"), Allocation("shared", 5, 50))
        == "split -> shared, buffer 0 -> 5, cap none -> 50"
    )
    assert describe_change(Allocation("shared", 5, 50), Allocation("shared", 5)) == (
        "shared, cap 50 -> none"
    )
