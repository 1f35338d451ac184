"""``set_quantities``: deterministic requests, and Shopify's answers mapped to WriteResult."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shopify_sync.adapters.shopify import documents
from shopify_sync.adapters.shopify.version import features_for
from shopify_sync.domain.model import (
    QuantityWrite,
    SetQuantities,
    WriteError,
    WriteErrorKind,
    WriteResult,
)
from shopify_sync.errors import OutcomeUnknown, StoreRejected
from shopify_sync.types import InventoryItemId, LocationId
from tests.unit.shopify.shopify_fakes import FakeClock, ScriptedShop, gql, make_client

pytestmark = pytest.mark.anyio

A = InventoryItemId(900)
B = InventoryItemId(100)
WRITE = SetQuantities(
    idempotency_key="0b5e9a52-0000-4000-8000-000000000001",
    reference_document_uri="gid://b2b-sync/SyncLog/42",
    entries=(QuantityWrite(A, quantity=14, expected=9), QuantityWrite(B, quantity=3, expected=5)),
)


def answer(group: dict[str, Any] | None, *errors: dict[str, Any]) -> httpx.Response:
    """An inventorySetQuantities answer."""
    return gql(
        {
            "inventorySetQuantities": {
                "inventoryAdjustmentGroup": group,
                "userErrors": list(errors),
            }
        }
    )


def user_error(code: str, field: list[str] | None = None, message: str = "no") -> dict[str, Any]:
    """One userErrors entry."""
    return {"code": code, "field": field, "message": message}


async def _send(shop: ScriptedShop, clock: FakeClock, **kwargs: Any) -> WriteResult:
    client, http = make_client(shop, clock, **kwargs)
    async with http:
        return await client.set_quantities(WRITE)


async def test_success_returns_the_adjustment_group(clock: FakeClock) -> None:
    """An answer without userErrors is applied, with the group's id and createdAt."""
    group = {"id": "gid://shopify/InventoryAdjustmentGroup/77", "createdAt": "2026-05-01T10:00:02Z"}
    shop = ScriptedShop([answer(group)])

    result = await _send(shop, clock)

    assert result == WriteResult(
        applied=True,
        applied_at=datetime(2026, 5, 1, 10, 0, 2, tzinfo=UTC),
        adjustment_group_id="gid://shopify/InventoryAdjustmentGroup/77",
    )


async def test_no_group_and_no_error_means_nothing_changed(clock: FakeClock) -> None:
    """An answer with neither group nor userErrors counts as applied (values already set)."""
    shop = ScriptedShop([answer(None)])

    result = await _send(shop, clock)

    assert result == WriteResult(applied=True)


@pytest.mark.parametrize("code", ["CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE"])
async def test_stale_entries_name_their_item_by_field_index(clock: FakeClock, code: str) -> None:
    """A stale CAS error names the entry's item through the index in its field path."""
    field = ["input", "quantities", "1", "changeFromQuantity"]
    shop = ScriptedShop([answer(None, user_error(code, field, "stale"))])

    result = await _send(shop, clock)

    # Entries are sent sorted by item id, so index 1 is A (900), not the second given.
    assert result == WriteResult(
        applied=False, errors=(WriteError(WriteErrorKind.STALE, code, "stale", A),)
    )


@pytest.mark.parametrize(
    "code",
    [
        "INVALID_INVENTORY_ITEM",
        "ITEM_NOT_STOCKED_AT_LOCATION",
        "NON_MUTABLE_INVENTORY_ITEM",
        "INVALID_QUANTITY_NEGATIVE",
        "INVALID_QUANTITY_TOO_HIGH",
        "INVALID_QUANTITY_TOO_LOW",
        "INVENTORY_ITEM_NOT_TRACKED",
    ],
)
async def test_permanent_errors_stop_for_that_item(clock: FakeClock, code: str) -> None:
    """Unknown, not stocked, immutable, out-of-range or unknown codes are permanent per item."""
    field = ["input", "quantities", "0", "inventoryItemId"]
    shop = ScriptedShop([answer(None, user_error(code, field))])

    result = await _send(shop, clock)

    assert result.errors == (WriteError(WriteErrorKind.PERMANENT, code, "no", B),)


async def test_previous_attempt_failed_asks_for_a_fresh_retry(clock: FakeClock) -> None:
    """IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED is a whole-call RETRY error, not applied."""
    shop = ScriptedShop([answer(None, user_error("IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"))])

    result = await _send(shop, clock)

    assert result == WriteResult(
        applied=False,
        errors=(WriteError(WriteErrorKind.RETRY, "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED", "no"),),
    )


async def test_concurrent_request_waits_and_resends_the_same_request(clock: FakeClock) -> None:
    """IDEMPOTENCY_CONCURRENT_REQUEST waits and resends identical bytes until answered."""
    busy = answer(None, user_error("IDEMPOTENCY_CONCURRENT_REQUEST"))
    shop = ScriptedShop([busy, busy, answer(None)])

    result = await _send(shop, clock)

    assert result.applied
    assert len(set(shop.bodies)) == 1
    assert len(shop.bodies) == 3
    assert len(clock.sleeps) == 2


async def test_concurrent_request_until_the_bound_is_outcome_unknown(clock: FakeClock) -> None:
    """A key still in progress after the bounded resends raises OutcomeUnknown."""
    shop = ScriptedShop([answer(None, user_error("IDEMPOTENCY_CONCURRENT_REQUEST"))])

    with pytest.raises(OutcomeUnknown):
        await _send(shop, clock, concurrent_request_attempts=3)

    assert len(shop.bodies) == 3


async def test_key_parameter_mismatch_is_our_bug(clock: FakeClock) -> None:
    """A key reused with other variables raises StoreRejected."""
    shop = ScriptedShop([answer(None, user_error("IDEMPOTENCY_KEY_PARAMETER_MISMATCH"))])

    with pytest.raises(StoreRejected, match="idempotency key"):
        await _send(shop, clock)


async def test_unreadable_write_answer_is_outcome_unknown(clock: FakeClock) -> None:
    """A 200 write answer of the wrong shape may hide an applied write: OutcomeUnknown."""
    shop = ScriptedShop([gql({"inventorySetQuantities": {"userErrors": "??"}})])

    with pytest.raises(OutcomeUnknown):
        await _send(shop, clock)


@pytest.mark.parametrize(
    "entries",
    [
        (),
        tuple(QuantityWrite(InventoryItemId(n), 1, 0) for n in range(1, 252)),
        (QuantityWrite(A, 1, 0), QuantityWrite(A, 2, 1)),
    ],
    ids=["empty", "251-entries", "duplicate-item"],
)
async def test_malformed_writes_are_refused_before_sending(
    clock: FakeClock, entries: tuple[QuantityWrite, ...]
) -> None:
    """Empty, oversized or duplicate-item writes raise StoreRejected and send nothing."""
    shop = ScriptedShop([answer(None)])
    client, http = make_client(shop, clock)
    write = SetQuantities("key", "gid://b2b-sync/SyncLog/1", entries)

    async with http:
        with pytest.raises(StoreRejected):
            await client.set_quantities(write)

    assert shop.requests == []


@pytest.mark.parametrize("version", ["2025-10", "2026-01", "2026-04", "2026-10"])
def test_the_same_write_always_makes_the_same_bytes(version: str) -> None:
    """Equal SetQuantities values (even with entries reordered) give byte-identical bodies."""
    features = features_for(version)
    reordered = SetQuantities(
        WRITE.idempotency_key, WRITE.reference_document_uri, tuple(reversed(WRITE.entries))
    )

    first = documents.set_quantities(features, WRITE, LocationId(5)).body()
    again = documents.set_quantities(features, WRITE, LocationId(5)).body()
    other = documents.set_quantities(features, reordered, LocationId(5)).body()

    assert first == again == other


def test_write_body_is_compact_ordered_json() -> None:
    """The body lists query, variables, operationName and the entries sorted by item id."""
    body = documents.set_quantities(features_for("2026-04"), WRITE, LocationId(5)).body()

    assert body.startswith(b'{"query":"mutation SetAvailable(')
    assert body.endswith(
        b'"variables":{"input":{"name":"available","reason":"correction",'
        b'"referenceDocumentUri":"gid://b2b-sync/SyncLog/42","quantities":['
        b'{"inventoryItemId":"gid://shopify/InventoryItem/100","locationId":"gid://shopify/Location/5",'
        b'"quantity":3,"changeFromQuantity":5},'
        b'{"inventoryItemId":"gid://shopify/InventoryItem/900","locationId":"gid://shopify/Location/5",'
        b'"quantity":14,"changeFromQuantity":9}]},'
        b'"key":"0b5e9a52-0000-4000-8000-000000000001"},"operationName":"SetAvailable"}'
    )
