"""Point 2: inventory mutations, compare-and-swap by version, all-or-nothing, history."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shopify_sync.simulator import ManualClock
from tests.simulator.harness import SET_MUTATION, Shop, make_config, start_shop

OLD_SET = """
mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { id reason referenceDocumentUri
      changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}
"""
ADJUST = """
mutation Adjust($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}
"""


def set_input(entries: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "available",
        "reason": "correction",
        "referenceDocumentUri": "gid://b2b-sync/SyncRun/1",
        "quantities": entries,
        **extra,
    }


def run_set(shop: Shop, entries: list[dict[str, Any]], version: str = "2026-04") -> dict[str, Any]:
    body = shop.gql(SET_MUTATION, {"key": str(uuid.uuid4()), "input": set_input(entries)}, version)
    payload: dict[str, Any] = body["data"]["inventorySetQuantities"]
    return payload


def test_set_with_matching_change_from_writes(shop: Shop) -> None:
    """A set whose changeFromQuantity matches writes and reports available and on_hand changes."""
    item, location, available = shop.first_item()

    payload = run_set(
        shop,
        [
            {
                "inventoryItemId": item,
                "locationId": location,
                "quantity": available + 3,
                "changeFromQuantity": available,
            }
        ],
    )

    assert payload["userErrors"] == []
    assert payload["inventoryAdjustmentGroup"]["changes"] == [
        {"name": "available", "delta": 3, "quantityAfterChange": available + 3},
        {"name": "on_hand", "delta": 3, "quantityAfterChange": available + 3},
    ]
    assert shop.available(item, location) == available + 3


def test_stale_change_from_is_refused_in_2026_01_and_later(shop: Shop) -> None:
    """A stale changeFromQuantity gives CHANGE_FROM_QUANTITY_STALE and writes nothing."""
    item, location, available = shop.first_item()
    entry = {
        "inventoryItemId": item,
        "locationId": location,
        "quantity": 1,
        "changeFromQuantity": available + 1,
    }

    codes = [run_set(shop, [entry], v)["userErrors"] for v in ("2026-01", "2026-04", "2026-10")]

    assert {errors[0]["code"] for errors in codes} == {"CHANGE_FROM_QUANTITY_STALE"}
    assert codes[0][0]["field"] == ["input", "quantities", "0", "changeFromQuantity"]
    assert shop.available(item, location) == available


def test_stale_compare_quantity_is_refused_before_2026_04(shop: Shop) -> None:
    """Older versions check compareQuantity and answer COMPARE_QUANTITY_STALE."""
    item, location, available = shop.first_item()
    entry = {
        "inventoryItemId": item,
        "locationId": location,
        "quantity": 1,
        "compareQuantity": available + 1,
    }

    body = shop.gql(OLD_SET, {"input": set_input([entry])}, "2025-10")

    payload = body["data"]["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["COMPARE_QUANTITY_STALE"]


def test_compare_quantity_required_unless_ignored(shop: Shop) -> None:
    """Before 2026-01 an entry needs compareQuantity unless ignoreCompareQuantity is true."""
    item, location, _ = shop.first_item()
    entry = {"inventoryItemId": item, "locationId": location, "quantity": 4}

    refused = shop.gql(OLD_SET, {"input": set_input([entry])}, "2025-10")
    ignored = shop.gql(
        OLD_SET, {"input": set_input([entry], ignoreCompareQuantity=True)}, "2025-10"
    )

    assert refused["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == (
        "COMPARE_QUANTITY_REQUIRED"
    )
    assert ignored["data"]["inventorySetQuantities"]["userErrors"] == []


def test_change_from_null_skips_the_check(shop: Shop) -> None:
    """An explicit null changeFromQuantity opts out of the check."""
    item, location, _ = shop.first_item()

    payload = run_set(
        shop,
        [
            {
                "inventoryItemId": item,
                "locationId": location,
                "quantity": 9,
                "changeFromQuantity": None,
            }
        ],
    )

    assert payload["userErrors"] == []
    assert shop.available(item, location) == 9


def test_missing_change_from_is_refused_from_2026_04(shop: Shop) -> None:
    """From 2026-04 omitting changeFromQuantity is an error (it must be sent, maybe null)."""
    item, location, available = shop.first_item()

    payload = run_set(shop, [{"inventoryItemId": item, "locationId": location, "quantity": 2}])

    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"][0]["field"] == ["input", "quantities", "0", "changeFromQuantity"]
    assert shop.available(item, location) == available


def test_one_bad_entry_means_nothing_is_written(shop: Shop) -> None:
    """The call is all-or-nothing: a stale second entry keeps the first one unwritten too."""
    store = shop.sim.store
    location = store.primary_location()
    assert location is not None
    items = [store.items[k] for k in store.sorted_keys(store.items)[:2]]
    loc = f"gid://shopify/Location/{location.id}"
    entries = [
        {
            "inventoryItemId": f"gid://shopify/InventoryItem/{items[0].id}",
            "locationId": loc,
            "quantity": 50,
            "changeFromQuantity": items[0].levels[location.id].available,
        },
        {
            "inventoryItemId": f"gid://shopify/InventoryItem/{items[1].id}",
            "locationId": loc,
            "quantity": 50,
            "changeFromQuantity": -1,
        },
    ]
    before = [item.levels[location.id].available for item in items]

    payload = run_set(shop, entries)

    assert [e["field"] for e in payload["userErrors"]] == [
        ["input", "quantities", "1", "changeFromQuantity"]
    ]
    assert [item.levels[location.id].available for item in items] == before


def test_business_rules_are_reported_per_entry(shop: Shop) -> None:
    """Unknown ids, duplicates, bad reasons, names and URIs each get their documented code."""
    item, location, _ = shop.first_item()
    entry = {
        "inventoryItemId": item,
        "locationId": location,
        "quantity": 1,
        "changeFromQuantity": None,
    }
    variables = {
        "key": "rules",
        "input": {
            "name": "committed",
            "reason": "because",
            "referenceDocumentUri": "not a uri",
            "quantities": [
                entry,
                entry,
                {**entry, "inventoryItemId": "gid://shopify/InventoryItem/1"},
                {**entry, "locationId": "gid://shopify/Location/1"},
                {**entry, "quantity": -1, "inventoryItemId": shop.first_item()[0]},
            ],
        },
    }

    body = shop.gql(SET_MUTATION, variables)

    codes = [e["code"] for e in body["data"]["inventorySetQuantities"]["userErrors"]]
    assert codes == [
        "INVALID_REASON",
        "INVALID_REFERENCE_DOCUMENT",
        "INVALID_NAME",
        "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
        "INVALID_INVENTORY_ITEM",
        "INVALID_LOCATION",
        "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
    ]


@pytest.fixture(name="two_locations")
def _two_locations() -> Iterator[Shop]:
    config = make_config(products=3)
    clock = ManualClock()
    shop_iter = start_shop(config, clock)
    shop = next(shop_iter)
    store = shop.sim.store
    second = store.add_location("Pop-up")
    assert second.id
    yield shop
    next(shop_iter, None)


def test_not_stocked_location_until_2026_10(two_locations: Shop) -> None:
    """Up to 2026-07 an unstocked location is ITEM_NOT_STOCKED_AT_LOCATION; 2026-10 stocks it."""
    shop = two_locations
    store = shop.sim.store
    pop_up = next(loc for loc in store.locations.values() if loc.name == "Pop-up")
    item, _, _ = shop.first_item()
    entry = {
        "inventoryItemId": item,
        "locationId": f"gid://shopify/Location/{pop_up.id}",
        "quantity": 6,
        "changeFromQuantity": 0,
    }

    old = run_set(shop, [entry], "2026-07")
    new = run_set(shop, [entry], "2026-10")

    assert [e["code"] for e in old["userErrors"]] == ["ITEM_NOT_STOCKED_AT_LOCATION"]
    assert new["userErrors"] == []
    assert shop.available(item, f"gid://shopify/Location/{pop_up.id}") == 6


def test_activate_stocks_an_item(two_locations: Shop) -> None:
    """`inventoryActivate` stocks an item at a location with the given available quantity."""
    shop = two_locations
    pop_up = next(loc for loc in shop.sim.store.locations.values() if loc.name == "Pop-up")
    item, _, _ = shop.first_item()
    location = f"gid://shopify/Location/{pop_up.id}"

    body = shop.gql(
        "mutation($i: ID!, $l: ID!) { inventoryActivate(inventoryItemId: $i, locationId: $l, "
        'available: 4) @idempotent(key: "act-1") { inventoryLevel { '
        'quantities(names: ["available"]) { quantity } } userErrors { field message } } }',
        {"i": item, "l": location},
    )

    assert body["data"]["inventoryActivate"] == {
        "inventoryLevel": {"quantities": [{"quantity": 4}]},
        "userErrors": [],
    }


def test_adjust_applies_delta_with_cas(shop: Shop) -> None:
    """`inventoryAdjustQuantities` adds the delta, checking changeFromQuantity when given."""
    item, location, available = shop.first_item()
    change = {
        "inventoryItemId": item,
        "locationId": location,
        "delta": -2,
        "changeFromQuantity": available,
    }
    variables = {
        "key": "adj-1",
        "input": {"name": "available", "reason": "correction", "changes": [change]},
    }

    first = shop.gql(ADJUST, variables)
    stale = shop.gql(ADJUST, {**variables, "key": "adj-2"})

    assert first["data"]["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"]["changes"][0] == {
        "name": "available",
        "delta": -2,
        "quantityAfterChange": available - 2,
    }
    assert stale["data"]["inventoryAdjustQuantities"]["userErrors"][0]["code"] == (
        "CHANGE_FROM_QUANTITY_STALE"
    )
    assert shop.available(item, location) == available - 2


def test_adjust_other_states_needs_a_ledger_document(shop: Shop) -> None:
    """Adjusting `damaged` needs a ledgerDocumentUri; `available` must not have one."""
    item, location, _ = shop.first_item()
    change = {
        "inventoryItemId": item,
        "locationId": location,
        "delta": 1,
        "changeFromQuantity": None,
    }

    damaged = shop.gql(
        ADJUST,
        {"key": "d1", "input": {"name": "damaged", "reason": "damaged", "changes": [change]}},
    )
    available = shop.gql(
        ADJUST,
        {
            "key": "d2",
            "input": {
                "name": "available",
                "reason": "correction",
                "changes": [{**change, "ledgerDocumentUri": "https://erp.test/1"}],
            },
        },
    )

    assert damaged["data"]["inventoryAdjustQuantities"]["userErrors"][0]["code"] == (
        "INVALID_QUANTITY_DOCUMENT"
    )
    assert available["data"]["inventoryAdjustQuantities"]["userErrors"][0]["code"] == (
        "INVALID_AVAILABLE_DOCUMENT"
    )


def test_reason_and_reference_are_in_history(shop: Shop) -> None:
    """The reason and referenceDocumentUri of a write appear in the inventory history."""
    item, location, available = shop.first_item()
    run_set(
        shop,
        [
            {
                "inventoryItemId": item,
                "locationId": location,
                "quantity": available + 1,
                "changeFromQuantity": available,
            }
        ],
    )

    history = shop.http.get("/_simulator/history", params={"sku": "SKU-000001"}).json()

    latest = history["adjustments"][0]
    assert (latest["reason"], latest["reference_document_uri"], latest["source"]) == (
        "correction",
        "gid://b2b-sync/SyncRun/1",
        "app",
    )
    assert latest["changes"][0]["quantity_after_change"] == available + 1


def test_timestamps_have_one_second_resolution(shop: Shop, clock: ManualClock) -> None:
    """The adjustment group's createdAt is whole seconds, like Shopify's."""
    clock.advance(0.73)
    item, location, available = shop.first_item()

    payload = run_set(
        shop,
        [
            {
                "inventoryItemId": item,
                "locationId": location,
                "quantity": available + 1,
                "changeFromQuantity": available,
            }
        ],
    )

    assert payload["inventoryAdjustmentGroup"]["createdAt"] == "2026-05-01T14:00:00Z"


def test_250_entry_set_applies_every_entry(clock: ManualClock) -> None:
    """A 250-entry inventorySetQuantities (the most Shopify takes) lands every entry in one call.

    Its speed is a benchmark figure ("simulator CPU s" in bench/reconcile.py), not asserted here.
    """
    for shop in start_shop(make_config(products=250), clock):
        store = shop.sim.store
        location = store.primary_location()
        assert location is not None
        keys = store.sorted_keys(store.items)
        targets = [7 + n % 3 for n in range(250)]
        entries = [
            {
                "inventoryItemId": f"gid://shopify/InventoryItem/{item_id}",
                "locationId": f"gid://shopify/Location/{location.id}",
                "quantity": target,
                "changeFromQuantity": None,
            }
            for item_id, target in zip(keys, targets, strict=True)
        ]

        payload = run_set(shop, entries)

        assert payload["userErrors"] == []
        changes = payload["inventoryAdjustmentGroup"]["changes"]
        moved = [c["quantityAfterChange"] for c in changes if c["name"] == "available"]
        assert moved == targets
        assert [store.items[k].levels[location.id].available for k in keys] == targets
