"""Every GraphQL document the Shopify client sends is valid for the schema of each version."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from shopify_sync.adapters.shopify import documents
from shopify_sync.adapters.shopify.version import features_for
from shopify_sync.domain.model import QuantityWrite, SetQuantities
from shopify_sync.types import InventoryItemId, LocationId, VariantId
from tests.unit.shopify.shopify_fakes import FakeClock, full_shop, make_client
from tests.unit.shopify.shopify_schema import (
    OLDER_VERSIONS,
    SUPPORTED_VERSIONS,
    deprecated_uses,
    fields_named,
    runtime_problems,
    schema_problems,
)

pytestmark = pytest.mark.anyio

EVERY_OPERATION = {
    "ReadLevels",
    "ResolveInventoryItems",
    "FindVariants",
    "FindProductVariants",
    "Location",
    "Locations",
    "WebhookSubscriptions",
    "CreateWebhookSubscription",
    "DeleteWebhookSubscription",
    "SetAvailable",
    "RunBulkQuery",
    "PollBulkOperation",
}
NO_REPLACEMENT = {"input field InventoryQuantityInput.compareQuantity"}
"""Deprecated in 2025-10, whose schema has no changeFromQuantity yet (2026-01 on)."""
WRITE = SetQuantities(
    idempotency_key="6f1c3a9e-0d7b-4e8e-9a51-2b0c7d4f1e22",
    reference_document_uri="gid://b2b-sync/SyncRun/8f3a",
    entries=(
        QuantityWrite(InventoryItemId(30322695), quantity=11, expected=1),
        QuantityWrite(InventoryItemId(30322690), quantity=0, expected=-3),
    ),
)


async def _send_everything(version: str) -> list[dict[str, Any]]:
    shop = full_shop()
    client, http = make_client(shop, FakeClock(), version=version)
    async with http:
        await client.read_levels([InventoryItemId(1), InventoryItemId(2)])
        await client.resolve_inventory_items([VariantId(11)])
        await client.find_variants("sku:ABC-1", limit=5)
        await client.find_product_variants('"shirt"', limit=5)
        await client.location(LocationId(124656943))
        await client.locations()
        await client.webhook_subscriptions()
        await client.create_webhook_subscription(
            "inventory_levels/update", "https://sync.example.com/webhooks/inventory-update"
        )
        await client.delete_webhook_subscription("gid://shopify/WebhookSubscription/5")
        await client.set_quantities(WRITE)
        _ = [level async for level in client.snapshot_levels()]
    return shop.graphql_bodies()


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS + OLDER_VERSIONS)
async def test_every_sent_document_passes_schema_validation(version: str) -> None:
    """Each request the client makes, cursors and all, validates and coerces against the schema."""
    bodies = await _send_everything(version)

    assert {body["operationName"] for body in bodies} == EVERY_OPERATION
    problems = {
        body["operationName"]: schema_problems(version, body["query"], body["variables"])
        for body in bodies
    }
    assert {name: found for name, found in problems.items() if found} == {}


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS + OLDER_VERSIONS)
async def test_bulk_inner_query_passes_schema_validation(version: str) -> None:
    """The query string handed to bulkOperationRunQuery is itself a valid query of the version."""
    bodies = await _send_everything(version)
    bulk = next(body for body in bodies if body["operationName"] == "RunBulkQuery")

    assert schema_problems(version, bulk["variables"]["query"], None) == []


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
async def test_no_document_uses_what_the_version_deprecates(version: str) -> None:
    """No request (nor bulk query) uses a deprecated field, argument, enum or input field that
    the version offers a replacement for: not currentBulkOperation, not callbackUrl."""
    bodies = await _send_everything(version)
    bulk = [
        (f"bulk {query[:20]!r}", query, None)
        for query in (
            documents.VARIANTS_BULK_QUERY,
            documents.snapshot_query(LocationId(124656943)),
        )
    ]
    sent = [(b["operationName"], b["query"], b["variables"]) for b in bodies]

    found = {
        name: [u for u in deprecated_uses(version, query, variables) if u not in NO_REPLACEMENT]
        for name, query, variables in sent + bulk
    }

    assert {name: uses for name, uses in found.items() if uses} == {}


def test_the_deprecation_check_finds_the_deprecated_spellings() -> None:
    """The check reports currentBulkOperation and callbackUrl (guards the guard)."""
    old = "query { currentBulkOperation { id } }"
    create = documents.create_webhook_subscription(
        features_for("2025-07"), "orders/create", "https://sync.example.com/webhooks/orders-create"
    )

    assert deprecated_uses("2026-10", old, None) == ["field currentBulkOperation"]
    assert deprecated_uses("2026-10", create.query, create.variables) == [
        "field callbackUrl",
        "input field WebhookSubscriptionInput.callbackUrl",
    ]


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS + OLDER_VERSIONS)
def test_variants_bulk_query_passes_schema_validation(version: str) -> None:
    """The bulk query auto-linking reads Shopify's variants with is a valid query of the version."""
    assert schema_problems(version, documents.VARIANTS_BULK_QUERY, None) == []


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
async def test_set_quantities_obeys_runtime_rules(version: str) -> None:
    """From 2026-04 every entry carries changeFromQuantity and the field carries @idempotent."""
    bodies = await _send_everything(version)
    write = next(body for body in bodies if body["operationName"] == "SetAvailable")

    assert runtime_problems(version, write) == []


@pytest.mark.parametrize("version", ["2026-01", "2026-04", "2026-07", "2026-10"])
async def test_new_versions_send_change_from_quantity_and_key(version: str) -> None:
    """From 2026-01 the write uses changeFromQuantity and @idempotent with the write's key."""
    bodies = await _send_everything(version)
    write = next(body for body in bodies if body["operationName"] == "SetAvailable")
    field = fields_named(parse(write["query"]), "inventorySetQuantities")[0]

    assert [d.name.value for d in field.directives] == ["idempotent"]
    assert write["variables"]["key"] == WRITE.idempotency_key
    assert [e.get("changeFromQuantity") for e in write["variables"]["input"]["quantities"]] == [
        -3,
        1,
    ]
    assert all("compareQuantity" not in e for e in write["variables"]["input"]["quantities"])


async def test_2025_10_sends_compare_quantity_without_directive() -> None:
    """Before 2026-01 the write uses compareQuantity and no @idempotent (absent from the schema)."""
    bodies = await _send_everything("2025-10")
    write = next(body for body in bodies if body["operationName"] == "SetAvailable")
    field = fields_named(parse(write["query"]), "inventorySetQuantities")[0]

    assert field.directives == ()
    assert "key" not in write["variables"]
    assert [e["compareQuantity"] for e in write["variables"]["input"]["quantities"]] == [-3, 1]


def test_runtime_check_catches_a_missing_change_from_quantity() -> None:
    """The 2026-04 runtime check reports an entry without changeFromQuantity (guards the guard)."""
    operation = documents.set_quantities(features_for("2025-10"), WRITE, LocationId(1))
    body = {"query": operation.query, "variables": operation.variables}

    assert len(runtime_problems("2026-04", body)) == 3


def test_schema_check_rejects_compare_quantity_in_2026_04() -> None:
    """Variable coercion catches an old-style entry sent to a version without compareQuantity."""
    operation = documents.set_quantities(features_for("2025-10"), WRITE, LocationId(1))

    assert schema_problems("2026-04", operation.query, operation.variables) != []
