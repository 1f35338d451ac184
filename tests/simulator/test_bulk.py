"""Point 2: bulk operations, polled three ways, with a JSONL result streamed from a URL."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from shopify_sync.simulator import ManualClock
from tests.simulator.harness import Shop, make_config, start_shop

RUN = """mutation($q: String!) { bulkOperationRunQuery(query: $q) {
  bulkOperation { id status } userErrors { code field message } } }"""
POLL = """query($id: ID!) { node(id: $id) { ... on BulkOperation { id status objectCount
  rootObjectCount url } } }"""


def _run(shop: Shop, query: str, version: str = "2026-04") -> dict[str, Any]:
    started = shop.gql(RUN, {"q": query}, version)["data"]["bulkOperationRunQuery"]
    assert started["userErrors"] == [], started
    deadline = time.monotonic() + 10
    while True:
        operation = shop.gql(POLL, {"id": started["bulkOperation"]["id"]}, version)["data"]["node"]
        if operation["status"] in ("COMPLETED", "FAILED") or time.monotonic() > deadline:
            result: dict[str, Any] = operation
            return result
        time.sleep(0.02)


def _rows(url: str) -> list[dict[str, Any]]:
    response = httpx.get(url)
    assert response.status_code == 200
    return [json.loads(line) for line in response.text.splitlines()]


def test_bulk_product_variants(shop: Shop) -> None:
    """A bulk query over productVariants writes one JSONL row per variant."""
    operation = _run(shop, "{ productVariants { edges { node { id sku } } } }")

    rows = _rows(operation["url"])
    assert operation["status"] == "COMPLETED"
    assert (operation["objectCount"], operation["rootObjectCount"]) == ("20", "20")
    assert [row["sku"] for row in rows] == [f"SKU-{n:06d}" for n in range(1, 21)]


def test_bulk_items_with_levels_use_parent_ids(shop: Shop) -> None:
    """Nested connection rows follow their parent and carry its id as __parentId."""
    operation = _run(
        shop,
        "{ inventoryItems { edges { node { id sku inventoryLevels { edges { node { id "
        'location { id } quantities(names: ["available"]) { name quantity } } } } } } } }',
    )

    rows = _rows(operation["url"])
    assert len(rows) == 40
    item, level = rows[0], rows[1]
    assert "__parentId" not in item
    assert level["__parentId"] == item["id"]
    assert level["quantities"][0]["name"] == "available"
    assert operation["rootObjectCount"] == "20"


def test_bulk_location_inventory_levels(shop: Shop) -> None:
    """A location's inventoryLevels come out as child rows of the location."""
    location = shop.first_item()[1]
    operation = _run(
        shop,
        f'{{ location(id: "{location}") {{ id inventoryLevels {{ edges {{ node {{ id '
        'item { sku } quantities(names: ["available"]) { quantity } } } } } }',
    )

    rows = _rows(operation["url"])
    assert rows[0] == {"id": location}
    assert len(rows) == 21
    assert {row["__parentId"] for row in rows[1:]} == {location}


def test_current_bulk_operation_and_list(shop: Shop) -> None:
    """currentBulkOperation and bulkOperations report the finished operation."""
    operation = _run(shop, "{ productVariants { edges { node { id } } } }")

    current = shop.gql("{ currentBulkOperation { id status } }")
    listed = shop.gql("{ bulkOperations(first: 5) { nodes { id status } } }")

    assert current["data"]["currentBulkOperation"] == {"id": operation["id"], "status": "COMPLETED"}
    assert listed["data"]["bulkOperations"]["nodes"] == [
        {"id": operation["id"], "status": "COMPLETED"}
    ]


def test_bulk_query_without_connection_is_refused(shop: Shop) -> None:
    """A bulk query needs at least one connection."""
    body = shop.gql(RUN, {"q": "{ shop { name } }"})

    errors = body["data"]["bulkOperationRunQuery"]["userErrors"]
    assert errors == [
        {
            "code": "INVALID",
            "field": ["query"],
            "message": "Bulk queries must contain at least one connection.",
        }
    ]


def test_bulk_query_is_validated_against_the_schema(shop: Shop) -> None:
    """A bulk query with an unknown field is refused."""
    body = shop.gql(RUN, {"q": "{ productVariants { edges { node { nope } } } }"})

    assert body["data"]["bulkOperationRunQuery"]["userErrors"][0]["message"] == (
        "Field 'nope' doesn't exist on type 'ProductVariant'"
    )


def test_bulk_spans_several_slices(clock: ManualClock) -> None:
    """A catalogue larger than one slice comes out complete, once each, in id order."""
    for shop in start_shop(make_config(products=1100), clock):
        operation = _run(shop, "{ productVariants { edges { node { sku } } } }")

        skus = [row["sku"] for row in _rows(operation["url"])]
        assert skus == [f"SKU-{n:06d}" for n in range(1, 1101)]
        assert operation["rootObjectCount"] == "1100"


def test_bulk_executor_matches_graphql_core(shop: Shop) -> None:
    """The lean bulk executor returns exactly what graphql-core returns for the same query."""
    from shopify_sync.simulator.gql.engine import SCHEMAS, execute
    from shopify_sync.simulator.gql.projection import Projector
    from shopify_sync.simulator.versions import VersionRules

    query = """query { productVariants(first: 3) { edges { cursor node { __typename id
      ...V alias: sku inventoryItem { tracked inventoryLevels(first: 2) { nodes {
      quantities(names: ["available", "on_hand"]) { name quantity } location { isActive } } } }
      } } pageInfo { hasNextPage } } nodes(ids: ["gid://shopify/Location/1"]) { id } }
      fragment V on ProductVariant { inventoryPolicy price createdAt }"""
    schema = SCHEMAS.get("2026-04")
    prepared = shop.sim.documents.get("2026-04", schema, query)
    operation = prepared.operation(None)
    assert not isinstance(operation, dict)
    context = shop.sim.context(VersionRules("2026-04"), shop.base_url)

    expected = execute(schema, prepared, operation, {}, context)
    actual = Projector(schema, prepared.fragments, context).run(operation)

    assert expected.errors is None
    assert actual == expected.data
