"""The three-way merge, case by case (shared/design/sync-semantics.md) and by property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopify_sync.domain.model import InboundOutcome, ShopifyLevel
from shopify_sync.domain.reconcile import (
    classify_inbound,
    inbound_delta,
    merge,
    newest,
)
from tests.factories import stock

T0 = datetime(2026, 5, 1, 10, 0, 0, tzinfo=UTC)
quantities = st.integers(min_value=-1000, max_value=100_000)


def test_first_link_b2b_wins_by_default() -> None:
    """Case 1: with no agreed base, the B2B database is the initial source of truth."""
    result = merge(stock(ours=10, base=None), theirs=6)

    assert (result.merged, result.write, result.expected, result.inbound_delta) == (10, 10, 6, 0)


def test_first_link_shopify_wins_when_configured() -> None:
    """Case 1 with INITIAL_SOURCE=shopify: Shopify's quantity becomes ours, nothing is written."""
    result = merge(stock(ours=10, base=None), theirs=6, initial_source="shopify")

    assert (result.merged, result.write, result.inbound_delta) == (6, None, -4)


def test_our_change_only_is_pushed() -> None:
    """Case 2: the B2B side sets 15; Shopify still holds the base; push 15 with CAS 10."""
    result = merge(stock(ours=15, base=10), theirs=10)

    assert (result.merged, result.write, result.expected, result.inbound_delta) == (15, 15, 10, 0)


def test_shopify_change_only_is_applied() -> None:
    """Case 3: Shopify sold 2; our stock moves by -2 and nothing is written to Shopify."""
    result = merge(stock(ours=10, base=10), theirs=8)

    assert (result.merged, result.write, result.inbound_delta) == (8, None, -2)


def test_concurrent_changes_both_survive() -> None:
    """Case 4: ours set to 15 while Shopify sold 1: merged 14, written with CAS 9."""
    result = merge(stock(ours=15, base=10), theirs=9)

    assert (result.merged, result.write, result.expected, result.inbound_delta) == (14, 14, 9, -1)


def test_in_sync_changes_nothing() -> None:
    """Both sides at the base: an empty plan."""
    result = merge(stock(ours=10, base=10), theirs=10)

    assert (result.write, result.inbound_delta, result.changed) == (None, 0, False)


def test_oversell_is_kept_and_flagged() -> None:
    """Both channels sold the last units: the merged quantity goes negative and is flagged."""
    result = merge(stock(ours=0, base=2), theirs=-1)

    assert (result.merged, result.oversold, result.out_of_range) == (-3, True, False)


def test_out_of_range_is_flagged() -> None:
    """A merged quantity Shopify would refuse is flagged before any write."""
    result = merge(stock(ours=1_000_000_001, base=0), theirs=0)

    assert result.out_of_range


def test_echo_of_our_write_changes_nothing() -> None:
    """Case 6: our write of 14 comes back as a webhook: delta 0, no echo."""
    assert inbound_delta(stock(ours=14, base=14), 14) == 0


def test_webhook_while_our_change_is_pending() -> None:
    """Case 7: available 9 arrives while our +5 is pending: ours 14, still pending."""
    s = stock(ours=15, base=10)

    assert s.ours + inbound_delta(s, 9) == 14


def test_inbound_delta_needs_a_base() -> None:
    """Without an agreed base there is no Shopify change to apply."""
    with pytest.raises(ValueError, match="first sync"):
        inbound_delta(stock(ours=1, base=None), 3)


def test_late_webhook_is_stale() -> None:
    """Case 9: a level older than the newest one applied is ignored."""
    s = stock(ours=8, base=8, seen_at=T0)
    level = ShopifyLevel(s.inventory_item_id, 9, T0 - timedelta(seconds=1))

    assert classify_inbound(s, level) is InboundOutcome.STALE


def test_same_second_is_ambiguous() -> None:
    """A level in the same second as the newest one applied is re-read, not guessed."""
    s = stock(ours=8, base=8, seen_at=T0)

    assert classify_inbound(s, ShopifyLevel(s.inventory_item_id, 7, T0)) is InboundOutcome.AMBIGUOUS


def test_same_second_echo_is_applied_as_no_op() -> None:
    """A same-second level equal to the base moves nothing either way, so it is applied."""
    s = stock(ours=8, base=8, seen_at=T0)

    assert classify_inbound(s, ShopifyLevel(s.inventory_item_id, 8, T0)) is InboundOutcome.APPLY


def test_newer_level_is_applied() -> None:
    """A level newer than anything applied moves our stock."""
    s = stock(ours=8, base=8, seen_at=T0)
    level = ShopifyLevel(s.inventory_item_id, 6, T0 + timedelta(seconds=1))

    assert classify_inbound(s, level) is InboundOutcome.APPLY


def test_level_without_timestamps_is_applied() -> None:
    """Without timestamps to compare, the level is applied."""
    s = stock(ours=8, base=8)

    assert classify_inbound(s, ShopifyLevel(s.inventory_item_id, 6, None)) is InboundOutcome.APPLY


def test_level_before_first_sync_asks_for_it() -> None:
    """With no agreed base yet, a reported level triggers the first sync instead."""
    s = stock(ours=8, base=None)

    assert (
        classify_inbound(s, ShopifyLevel(s.inventory_item_id, 6, T0)) is InboundOutcome.FIRST_SYNC
    )


def test_newest_ignores_missing() -> None:
    """The later of two timestamps, where either may be missing."""
    later = T0 + timedelta(seconds=1)

    assert (newest(None, T0), newest(T0, None), newest(T0, later), newest(None, None)) == (
        T0,
        T0,
        later,
        None,
    )


@settings(max_examples=2000)
@given(base=quantities, ours_change=quantities, their_change=quantities)
def test_no_unit_lost_or_invented(base: int, ours_change: int, their_change: int) -> None:
    """Whatever both sides did since the base, the merge carries exactly both changes."""
    s = stock(ours=base + ours_change, base=base)

    result = merge(s, theirs=base + their_change)

    assert result.merged - base == ours_change + their_change
    assert s.ours + result.inbound_delta == result.merged


@settings(max_examples=2000)
@given(base=quantities, ours=quantities, theirs=quantities)
def test_merging_a_merged_state_changes_nothing(base: int, ours: int, theirs: int) -> None:
    """After both writes are done, merging again is a no-op (idempotence)."""
    first = merge(stock(ours=ours, base=base), theirs=theirs)

    again = merge(stock(ours=first.merged, base=first.merged), theirs=first.merged)

    assert (again.write, again.inbound_delta, again.changed) == (None, 0, False)


@settings(max_examples=2000)
@given(base=quantities, change=quantities)
def test_one_sided_change_is_taken_as_is(base: int, change: int) -> None:
    """A change on one side only is taken unchanged by the other."""
    ours_only = merge(stock(ours=base + change, base=base), theirs=base)
    theirs_only = merge(stock(ours=base, base=base), theirs=base + change)

    assert (ours_only.merged, ours_only.inbound_delta) == (base + change, 0)
    assert (theirs_only.merged, theirs_only.write) == (base + change, None)


@settings(max_examples=1000)
@given(ours=quantities, theirs=quantities)
def test_first_sync_takes_the_source_of_truth(ours: int, theirs: int) -> None:
    """With no base, the configured source wins and the result is agreed by both sides."""
    b2b = merge(stock(ours=ours, base=None), theirs=theirs, initial_source="b2b")
    shop = merge(stock(ours=ours, base=None), theirs=theirs, initial_source="shopify")

    assert (b2b.merged, b2b.inbound_delta) == (ours, 0)
    assert (shop.merged, shop.write, ours + shop.inbound_delta) == (theirs, None, theirs)
