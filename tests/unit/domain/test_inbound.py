"""Planning a batch of inventory-level deliveries (pure, no database)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shopify_sync.domain.allocation import Allocation
from shopify_sync.domain.commands import ApplyInventoryLevel, WebhookMeta
from shopify_sync.domain.inbound import (
    InboundTarget,
    LevelPlan,
    LevelView,
    WebhookOutcome,
    plan_levels,
)
from shopify_sync.domain.model import ProductStock
from shopify_sync.types import InventoryItemId, LocationId, ProductId

NOW = datetime(2026, 5, 1, 10, 0, 0, tzinfo=UTC)
T0 = datetime(2026, 5, 1, 9, 0, 0, tzinfo=UTC)
LOCATION = LocationId(1)
SPLIT = Allocation()


def target(pid: str, item: int, ours: int, base: int | None, *, seen_s: int | None = 0,
           enabled: bool = True, in_flight: bool = False, b2b: int = 0,
           allocation: Allocation | None = SPLIT) -> InboundTarget:  # fmt: skip
    """A linked product; ``ours`` is b2c_stock, its pool base the pool as agreed (the
    published quantity ``base`` under split without buffer or cap)."""
    seen = None if seen_s is None else T0 + timedelta(seconds=seen_s)
    stock = ProductStock(ProductId(pid), InventoryItemId(item), ours, base, seen)
    pool_base = None if allocation is None else allocation.pool(b2b, ours)
    if allocation == SPLIT:
        pool_base = base
    return InboundTarget(stock, enabled, in_flight, b2b, pool_base, allocation)


def level(event: str, item: int, available: int | None, at_s: int, *,
          location: int = 1, webhook: str | None = None) -> ApplyInventoryLevel:  # fmt: skip
    meta = WebhookMeta(event, webhook or f"w-{event}", "inventory_levels/update", None, None)
    at = T0 + timedelta(seconds=at_s)
    return ApplyInventoryLevel(meta, InventoryItemId(item), LocationId(location), available, at)


def view(*targets: InboundTarget, seen: frozenset[str] = frozenset()) -> LevelView:
    by_item: dict[InventoryItemId, list[InboundTarget]] = {}
    for t in targets:
        by_item.setdefault(t.stock.inventory_item_id, []).append(t)
    return LevelView(seen, by_item)


def plan(cmds: list[ApplyInventoryLevel], v: LevelView) -> LevelPlan:
    return plan_levels(cmds, v, now=NOW, location_id=LOCATION)


def test_each_delivery_moves_its_product_by_available_minus_base() -> None:
    """Two products, one delivery each: a write per product, both processed."""
    result = plan([level("e1", 11, 7, 5), level("e2", 22, 30, 5)],
                  view(target("A", 11, 10, 10), target("B", 22, 25, 20)))  # fmt: skip

    assert [(w.product_id, w.expected_base, w.delta, w.new_base) for w in result.writes] == [
        ("A", 10, -3, 7),
        ("B", 20, 10, 30),
    ]
    assert [o.status for o in result.outcomes] == ["processed", "processed"]
    assert [e.event_id for e in result.events] == ["e1", "e2"]


def test_a_later_delivery_in_the_batch_sees_the_earlier_change() -> None:
    """Same product twice: the second write expects the base the first one set."""
    result = plan([level("e1", 11, 8, 5), level("e2", 11, 6, 6)], view(target("A", 11, 10, 10)))

    assert [(w.expected_base, w.delta, w.new_base) for w in result.writes] == [
        (10, -2, 8),
        (8, -2, 6),
    ]


def test_an_older_level_after_a_newer_one_in_the_batch_is_stale() -> None:
    """Out of order inside one batch: the older level is ignored, as across batches."""
    result = plan([level("e2", 11, 6, 9), level("e1", 11, 8, 5)], view(target("A", 11, 10, 10)))

    assert [w.new_base for w in result.writes] == [6]
    assert result.outcomes[1].status == "ignored"
    assert "stale" in result.outcomes[1].detail


def test_duplicates_seen_before_or_earlier_in_the_batch_change_nothing() -> None:
    """An event id or delivery id already recorded, or repeated in the batch, is a duplicate."""
    cmds = [level("old", 11, 1, 5), level("e1", 11, 8, 6), level("e1", 11, 2, 7),
            level("e3", 11, 3, 8, webhook="w-old")]  # fmt: skip
    result = plan(cmds, view(target("A", 11, 10, 10), seen=frozenset({"old", "w-old"})))

    assert [o.duplicate for o in result.outcomes] == [True, False, True, True]
    assert [w.reference for w in result.writes] == ["e1"]
    assert [e.event_id for e in result.events] == ["e1"]


def test_deliveries_that_cannot_apply_say_why() -> None:
    """Other location, unlinked item, no quantity, sync off: ignored with a reason, no write."""
    cmds = [level("e1", 11, 5, 5, location=2), level("e2", 99, 5, 5), level("e3", 11, None, 5),
            level("e4", 33, 5, 5)]  # fmt: skip
    result = plan(cmds, view(target("A", 11, 10, 10), target("C", 33, 1, 1, enabled=False)))

    assert result.writes == ()
    assert [o.status for o in result.outcomes] == ["ignored"] * 4
    assert [o.detail for o in result.outcomes] == [
        "location 2 is not the synced location 1",
        "no product is linked to inventory item 99",
        "the level has no available quantity (untracked or disconnected)",
        "C: sync disabled",
    ]


def test_in_flight_ambiguous_and_unsynced_products_are_re_read() -> None:
    """A write of ours in flight, the same second as the last change, or no base yet."""
    result = plan(
        [level("e1", 11, 5, 5), level("e2", 22, 5, 0), level("e3", 33, 5, 5)],
        view(target("A", 11, 10, 10, in_flight=True), target("B", 22, 10, 10),
             target("C", 33, 10, None, seen_s=None)),
    )  # fmt: skip

    assert result.writes == ()
    assert result.refresh == ("A", "B", "C")
    assert [o.refresh for o in result.outcomes] == [("A",), ("B",), ("C",)]
    assert [o.status for o in result.outcomes] == ["processed"] * 3


_deliveries = st.lists(
    st.tuples(
        st.sampled_from(["e1", "e2", "e3", "e4", "e5", "e6"]),  # repeats are duplicates
        st.sampled_from([11, 22, 99]),
        st.one_of(st.none(), st.integers(min_value=-5, max_value=40)),
        st.integers(min_value=-2, max_value=6),  # seconds: older, same and newer
    ),
    max_size=12,
)


def _apply(v: LevelView, result: LevelPlan) -> LevelView:
    """The view as the store leaves it after writing ``result``."""
    rows = {t.stock.product_id: t for ts in v.products.values() for t in ts}
    for w in result.writes:
        stock = rows[w.product_id].stock
        assert stock.base == w.expected_base
        seen = (
            w.seen_at
            if stock.seen_at is None or w.seen_at is None
            else max(stock.seen_at, w.seen_at)
        )
        rows[w.product_id] = dataclasses.replace(
            rows[w.product_id],
            stock=ProductStock(stock.product_id, stock.inventory_item_id,
                               stock.ours + w.delta, w.new_base, seen),
        )  # fmt: skip
    seen_ids = set(v.seen)
    for e in result.events:
        seen_ids.update({e.event_id, e.webhook_id or e.event_id})
    return view(*rows.values(), seen=frozenset(seen_ids))


@settings(max_examples=300, deadline=None)
@given(_deliveries)
def test_a_batch_plans_exactly_like_its_deliveries_one_by_one(
    deliveries: list[tuple[str, int, int | None, int]],
) -> None:
    """Property: outcomes and final rows of one batch equal those of one batch per delivery."""
    cmds = [level(e, item, available, at) for e, item, available, at in deliveries]
    start = view(target("A", 11, 10, 10), target("B", 22, 5, 3, seen_s=2))

    batched = plan(cmds, start)
    one_by_one: list[WebhookOutcome] = []
    state = start
    for cmd in cmds:
        single = plan([cmd], state)
        one_by_one.extend(single.outcomes)
        state = _apply(state, single)

    assert batched.outcomes == tuple(one_by_one)
    assert _apply(start, batched).products == state.products


def test_level_ahead_of_our_clock_is_re_read_not_applied() -> None:
    """A level dated beyond NOW plus the tolerance writes nothing and asks for a re-read;
    one just within the tolerance applies."""
    far = (NOW - T0).seconds + 3 * 60
    near = (NOW - T0).seconds + 60

    result = plan([level("e1", 11, 7, far), level("e2", 22, 7, near)],
                  view(target("A", 11, 10, 10), target("B", 22, 10, 10)))  # fmt: skip

    assert [w.product_id for w in result.writes] == ["B"]
    assert result.refresh == ("A",)


def test_level_that_would_put_our_stock_out_of_range_is_re_read() -> None:
    """A change that would move b2c_stock beyond Shopify's +-2,000,000,000 is not written:
    the re-read's merge reports the problem instead."""
    result = plan([level("e1", 11, 2_000_000_000, 5)], view(target("A", 11, 10, -10)))

    assert (result.writes, result.refresh) == ((), ("A",))


def test_credible_drops_only_timestamps_ahead_of_the_clock() -> None:
    """credible() keeps a timestamp up to the tolerance ahead of now, and none beyond."""
    from shopify_sync.domain.reconcile import FUTURE_TOLERANCE, credible

    assert credible(NOW + FUTURE_TOLERANCE, NOW) == NOW + FUTURE_TOLERANCE
    assert credible(NOW + FUTURE_TOLERANCE + timedelta(seconds=1), NOW) is None
    assert credible(None, NOW) is None


def test_a_shopify_sale_of_a_shared_product_moves_b2b_stock() -> None:
    """Shared: the sale goes into the pool (b2b_stock), planned under the row's policy."""
    shared = Allocation("shared", 5)
    result = plan(
        [level("e1", 11, 13, 5)], view(target("A", 11, 15, 15, b2b=20, allocation=shared))
    )

    (write,) = result.writes
    assert (write.delta, write.new_base, write.expected_policy, write.refresh) == (
        -2, 13, "shared", False,
    )  # fmt: skip
    assert "b2b_stock -2" in result.outcomes[0].detail


def test_a_cap_to_restore_asks_for_a_pass_in_the_same_write() -> None:
    """Cap 50 with 60 units: Shopify sold 5 (45); the pool drops to 55, which still
    publishes 50, so the write itself asks for a pass (no separate re-read request)."""
    capped = Allocation(cap=50)
    product = dataclasses.replace(target("A", 11, 60, 50, allocation=capped), pool_base=60)

    result = plan([level("e1", 11, 45, 5)], view(product))

    (write,) = result.writes
    assert (write.delta, write.refresh, result.refresh) == (-5, True, ())
    assert result.outcomes[0].refresh == (ProductId("A"),)


def test_a_product_without_its_own_policy_is_re_read() -> None:
    """No stored policy yet: the level is not applied; the first sync gives it one."""
    result = plan([level("e1", 11, 8, 5)], view(target("A", 11, 10, 10, allocation=None)))

    assert (result.writes, result.refresh) == ((), (ProductId("A"),))
