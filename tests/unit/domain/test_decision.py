"""The pure decision per product, shared by the sync and its dry run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shopify_sync.domain.decision import decide, level_reference
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
