"""The pure allocation functions run as a product's life: random changes on both sides,
merges and policy switches, in any order, never lose or invent a unit (property tests).

A model product holds our two stocks, the agreed base and Shopify's ``available``, and
takes random steps: the B2B platform writes ``b2b_stock`` (or a split product's
``b2c_stock``), Shopify sells or the merchant edits, the sync merges
(``merge_allocated``, its write applied) and the operator switches the allocation
(``switch``). Whatever the steps, the physical stock plus Shopify's changes not merged yet
is the initial stock plus every change of both sides, and one last merge leaves Shopify
showing ``published(pool)``, after which merging again changes nothing. The same holds
with every merge made by ``decide()`` as the engine uses it, and the pending scan's
settling of a pool move without reading Shopify (``settles_locally``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from shopify_sync.domain.allocation import (
    Allocation,
    describe_change,
    merge_allocated,
    published,
    switch,
)
from shopify_sync.domain.decision import decide, settles_locally
from shopify_sync.domain.model import LevelRead, Product
from shopify_sync.types import InventoryItemId, ProductId
from tests.audit import physical, switched_to
from tests.fuzzing import fuzzed

allocations = st.builds(
    Allocation,
    policy=st.sampled_from(["split", "shared"]),
    buffer=st.integers(min_value=0, max_value=15) | st.just(0),
    cap=st.none() | st.integers(min_value=0, max_value=40),
)
ITEM = InventoryItemId(1)
deltas = st.integers(min_value=-12, max_value=12)
steps = st.one_of(
    st.tuples(st.just("b2b"), deltas),
    st.tuples(st.just("b2c"), deltas),
    st.tuples(st.just("shopify"), deltas),
    st.tuples(st.just("merge"), st.sampled_from([0, 1])),  # 1: by the pending scan
    st.tuples(st.just("switch"), allocations),
)


@dataclass
class Model:
    """One product: our stocks under ``allocation``, the agreed base, Shopify's level."""

    allocation: Allocation
    b2b: int
    b2c: int
    base: int
    theirs: int
    pool_base: int
    refresh: bool = False
    """A re-read is requested (after a switch: Shopify must be told)."""
    b2b_writes: int = 0
    shopify_changes: int = 0

    @property
    def pool(self) -> int:
        return self.allocation.pool(self.b2b, self.b2c)

    @property
    def units(self) -> int:
        """The physical stock, with Shopify's changes not merged yet."""
        return physical(self.allocation.policy, self.b2b, self.b2c) + self.theirs - self.base

    def merge(self) -> None:
        """A sync: merge, write what Shopify must show (applied), agree on it."""
        m = merge_allocated(self.b2b, self.b2c, self.base, self.theirs, self.allocation)
        self.b2b, self.b2c = m.b2b_after, m.b2c_after
        if m.write is not None:
            self.theirs = m.write
        self.base, self.pool_base, self.refresh = m.merged, self.pool, False

    def step(self, kind: str, value: int | Allocation) -> None:
        if kind == "switch":
            assert isinstance(value, Allocation)
            self.b2b, self.b2c = switch(self.b2b, self.b2c, self.allocation, value)
            self.allocation = value
            self.pool_base, self.refresh = self.pool, True  # as set_allocation writes them
            return
        assert isinstance(value, int)
        if kind == "b2b":
            self.b2b += value
            self.b2b_writes += value
        elif kind == "b2c" and self.allocation.policy == "split":
            self.b2c += value  # a shared product's b2c_stock is not the B2B platform's to write
            self.b2b_writes += value
        elif kind == "shopify":
            self.theirs += value
            self.shopify_changes += value
        elif kind == "merge":
            self.merge()


def _agreed(allocation: Allocation, b2b: int, b2c: int) -> Model:
    """A product whose first sync published its pool."""
    shown = published(allocation.pool(b2b, b2c), allocation)
    if allocation.policy == "shared":
        b2c = shown
    return Model(allocation, b2b, b2c, shown, shown, allocation.pool(b2b, b2c))


models = st.builds(
    _agreed,
    allocations,
    st.integers(min_value=-5, max_value=60),
    st.integers(min_value=-5, max_value=40),
)
schedules = st.lists(steps, max_size=25)


@fuzzed(300)
@given(model=models, schedule=schedules)
def test_no_schedule_of_changes_merges_and_switches_loses_a_unit(
    model: Model, schedule: list[tuple[str, int | Allocation]]
) -> None:
    """After any steps on both sides, merges and switches, the units are the initial ones
    plus every change; one merge then makes Shopify show the pool's published quantity
    (the shared mirror too), and another merge changes nothing."""
    initial = model.units

    for kind, value in schedule:
        model.step(kind, value)
        assert model.units == initial + model.b2b_writes + model.shopify_changes

    model.merge()
    shown = published(model.pool, model.allocation)
    assert (model.theirs, model.base) == (shown, shown)
    if model.allocation.policy == "shared":
        assert model.b2c == shown
    settled = (model.b2b, model.b2c, model.base, model.theirs)
    model.merge()
    assert (model.b2b, model.b2c, model.base, model.theirs) == settled


@given(
    b2b=st.integers(min_value=-5, max_value=60),
    b2c=st.integers(min_value=-5, max_value=40),
    split=allocations.filter(lambda a: a.policy == "split"),
    shared=allocations.filter(lambda a: a.policy == "shared"),
)
def test_leaving_shared_and_coming_back_restores_the_pool(
    b2b: int, b2c: int, split: Allocation, shared: Allocation
) -> None:
    """shared -> split -> shared gives the one pool back unit for unit, whatever the
    buffers and caps on the way, and the mirror shows its published quantity."""
    out_b2b, out_b2c = switch(b2b, b2c, shared, split)
    back_b2b, back_b2c = switch(out_b2b, out_b2c, split, shared)

    assert (back_b2b, back_b2c) == (b2b, published(b2b, shared))


@given(old=allocations, new=allocations)
def test_the_audit_replay_reads_the_policy_a_change_logged(
    old: Allocation, new: Allocation
) -> None:
    """tests/audit.py reads the new policy back from the words the audit trail records."""
    assert switched_to(describe_change(old, new), old.policy) == new.policy


def _row(model: Model) -> Product:
    """The model as our row: its own allocation, agreed base and pool base."""
    a = model.allocation
    return Product(
        ProductId("p"), "SKU-1", None, model.b2b, model.b2c, "1", ITEM, True, None, 0, None,
        None, model.base, None, refresh_requested=model.refresh, allocation_policy=a.policy,
        allocation_buffer=a.buffer, allocation_cap=a.cap, pool_base=model.pool_base,
    )  # fmt: skip


def _sync(model: Model, *, pending_scan: bool) -> None:
    """A sync as the engine runs it: the pending scan settles a pool move Shopify need not
    see without reading it; otherwise decide() on Shopify's level, the write applied."""
    row = _row(model)
    if pending_scan and settles_locally(row):
        # Shopify is to show what it was last told: deciding on that level writes nothing.
        unchanged = decide(row, LevelRead(ITEM, row.shopify_base, None))
        assert unchanged.kind == "settle" and unchanged.merge is not None
        assert (unchanged.merge.write, unchanged.merge.inbound_delta) == (None, 0)
        model.pool_base = model.pool
        return
    decision = decide(row, LevelRead(ITEM, model.theirs, None))
    assert decision.kind in ("push", "settle") and decision.merge is not None
    m = decision.merge.allocated
    assert (m.write is None) == (decision.kind == "settle")
    model.b2b, model.b2c = m.b2b_after, m.b2c_after
    if m.write is not None:
        model.theirs = m.write
    model.base, model.pool_base, model.refresh = m.merged, model.pool, False


@fuzzed(300)
@given(model=models, schedule=schedules)
def test_decide_and_the_local_settle_lose_no_unit_and_end_agreed(
    model: Model, schedule: list[tuple[str, int | Allocation]]
) -> None:
    """The same schedules with every merge made by decide() as the engine uses it (and a
    pool move Shopify need not see settled without reading it): no unit lost or invented,
    and after a last sync and a reconcile's read Shopify shows the published pool and the
    product is no longer pending."""
    initial = model.units

    for kind, value in schedule:
        if kind == "merge":
            _sync(model, pending_scan=value == 1)
        else:
            model.step(kind, value)
        assert model.units == initial + model.b2b_writes + model.shopify_changes

    _sync(model, pending_scan=True)
    _sync(model, pending_scan=False)  # the reconcile reads every product
    shown = published(model.pool, model.allocation)
    assert (model.theirs, model.base, model.pool_base) == (shown, shown, model.pool)
    assert not _row(model).pending
    assert model.units == initial + model.b2b_writes + model.shopify_changes
