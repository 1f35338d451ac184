"""Point 2: the implemented queries and cursor pagination."""

from __future__ import annotations

from tests.simulator.harness import Shop


def test_shop_fields(shop: Shop) -> None:
    """`shop` answers with the simulated shop's domain and plan."""
    body = shop.gql(
        "{ shop { name myshopifyDomain currencyCode plan { displayName shopifyPlus } } }"
    )

    assert body["data"]["shop"] == {
        "name": "Demo",
        "myshopifyDomain": "demo.myshopify.com",
        "currencyCode": "USD",
        "plan": {"displayName": "Basic", "shopifyPlus": False},
    }


def test_locations_and_location(shop: Shop) -> None:
    """`locations` lists the locations and `location` without id returns the primary one."""
    body = shop.gql(
        "{ locations(first: 5) { nodes { id name isActive } } location { id isPrimary } }"
    )

    locations = body["data"]["locations"]["nodes"]
    assert [loc["name"] for loc in locations] == ["Main warehouse"]
    assert body["data"]["location"] == {"id": locations[0]["id"], "isPrimary": True}


def test_product_variants_by_sku(shop: Shop) -> None:
    """`productVariants(query: "sku:...")` finds the variant with that SKU only."""
    body = shop.gql(
        '{ productVariants(first: 5, query: "sku:SKU-000007") '
        "{ nodes { sku legacyResourceId inventoryItem { sku } } } }"
    )

    nodes = body["data"]["productVariants"]["nodes"]
    assert [(n["sku"], n["inventoryItem"]["sku"]) for n in nodes] == [("SKU-000007", "SKU-000007")]


def test_product_variant_and_inventory_item_by_id(shop: Shop) -> None:
    """`productVariant(id:)` and `inventoryItem(id:)` resolve each other."""
    variants = shop.gql("{ productVariants(first: 1) { nodes { id inventoryItem { id } } } }")
    node = variants["data"]["productVariants"]["nodes"][0]

    body = shop.gql(
        "query($v: ID!, $i: ID!) { productVariant(id: $v) { id } inventoryItem(id: $i) "
        "{ variant { id } } }",
        {"v": node["id"], "i": node["inventoryItem"]["id"]},
    )

    assert body["data"] == {
        "productVariant": {"id": node["id"]},
        "inventoryItem": {"variant": {"id": node["id"]}},
    }


def test_inventory_level_quantities(shop: Shop) -> None:
    """`inventoryItem.inventoryLevel(locationId:).quantities(names:)` reports each name."""
    item, location, available = shop.first_item()

    body = shop.gql(
        "query($i: ID!, $l: ID!) { inventoryItem(id: $i) { inventoryLevel(locationId: $l) "
        '{ quantities(names: ["available", "on_hand", "committed", "incoming"]) '
        "{ name quantity } } } }",
        {"i": item, "l": location},
    )

    assert body["data"]["inventoryItem"]["inventoryLevel"]["quantities"] == [
        {"name": "available", "quantity": available},
        {"name": "on_hand", "quantity": available},
        {"name": "committed", "quantity": 0},
        {"name": "incoming", "quantity": 0},
    ]


def test_unknown_ids_resolve_to_null(shop: Shop) -> None:
    """An id that names nothing gives null, and a level GID is not an inventory item id."""
    body = shop.gql(
        '{ inventoryItem(id: "gid://shopify/InventoryItem/1") { id } '
        'other: inventoryItem(id: "gid://shopify/InventoryLevel/1?inventory_item_id=2") { id } }'
    )

    assert body["data"] == {"inventoryItem": None, "other": None}


def test_nodes_returns_items_in_order(shop: Shop) -> None:
    """`nodes(ids:)` returns each record (or null) in the order asked."""
    item, location, _ = shop.first_item()

    body = shop.gql(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on InventoryItem { sku } } }",
        {"ids": [location, "gid://shopify/InventoryItem/1", item]},
    )

    assert body["data"]["nodes"] == [
        {"__typename": "Location", "id": location},
        None,
        {"__typename": "InventoryItem", "id": item, "sku": "SKU-000001"},
    ]


def test_location_inventory_levels_paginate_without_gaps(shop: Shop) -> None:
    """Paging `location.inventoryLevels` with cursors visits every level once, in order."""
    query = """query($after: String) { location { inventoryLevels(first: 7, after: $after) {
      edges { cursor node { item { sku } } } pageInfo { hasNextPage endCursor } } } }"""
    skus: list[str] = []
    after = None
    pages = 0
    while True:
        page = shop.gql(query, {"after": after})["data"]["location"]["inventoryLevels"]
        skus += [edge["node"]["item"]["sku"] for edge in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert pages == 3
    assert skus == [f"SKU-{n:06d}" for n in range(1, 21)]


def test_backward_pagination(shop: Shop) -> None:
    """`last`/`before` pages backwards from a cursor."""
    first = shop.gql("{ productVariants(first: 5) { edges { cursor node { sku } } } }")
    cursor = first["data"]["productVariants"]["edges"][4]["cursor"]

    body = shop.gql(
        "query($b: String) { productVariants(last: 2, before: $b) { nodes { sku } "
        "pageInfo { hasPreviousPage hasNextPage } } }",
        {"b": cursor},
    )

    assert body["data"]["productVariants"] == {
        "nodes": [{"sku": "SKU-000003"}, {"sku": "SKU-000004"}],
        "pageInfo": {"hasPreviousPage": True, "hasNextPage": True},
    }


def test_connection_requires_first_or_last(shop: Shop) -> None:
    """A connection without first or last is an error, as on Shopify."""
    body = shop.gql("{ productVariants { nodes { id } } }")

    assert body["errors"][0]["message"] == "you must provide one of first or last"


def test_page_size_above_250_is_refused(shop: Shop) -> None:
    """`first` above 250 is refused."""
    body = shop.gql("{ productVariants(first: 251) { nodes { id } } }")

    assert body["errors"][0]["message"] == "The first argument cannot exceed 250."


def test_webhook_subscriptions_query(shop: Shop) -> None:
    """`webhookSubscriptions` lists subscriptions created through the API."""
    shop.gql(
        """mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE,
          webhookSubscription: {uri: "https://hooks.test/orders"}) { userErrors { message } } }"""
    )

    body = shop.gql(
        "{ webhookSubscriptions(first: 5) { nodes { topic uri format apiVersion { handle } } } }"
    )

    assert body["data"]["webhookSubscriptions"]["nodes"] == [
        {
            "topic": "ORDERS_CREATE",
            "uri": "https://hooks.test/orders",
            "format": "JSON",
            "apiVersion": {"handle": "2026-04"},
        }
    ]


def test_webhook_subscription_update_and_delete(shop: Shop) -> None:
    """A subscription's address can be changed, and a deleted one is gone."""
    created = shop.gql(
        """mutation { webhookSubscriptionCreate(topic: INVENTORY_LEVELS_UPDATE,
          webhookSubscription: {uri: "https://hooks.test/a"}) { webhookSubscription { id } } }"""
    )["data"]["webhookSubscriptionCreate"]["webhookSubscription"]["id"]

    updated = shop.gql(
        """mutation($id: ID!) { webhookSubscriptionUpdate(id: $id,
          webhookSubscription: {uri: "https://hooks.test/b"}) { webhookSubscription { uri } } }""",
        {"id": created},
    )
    deleted = shop.gql(
        "mutation($id: ID!) { webhookSubscriptionDelete(id: $id) "
        "{ deletedWebhookSubscriptionId } }",
        {"id": created},
    )

    assert updated["data"]["webhookSubscriptionUpdate"]["webhookSubscription"] == {
        "uri": "https://hooks.test/b"
    }
    assert deleted["data"]["webhookSubscriptionDelete"] == {"deletedWebhookSubscriptionId": created}
    assert shop.sim.store.subscriptions == {}


def test_subscription_list_after_delete_and_create(shop: Shop) -> None:
    """Listing subscriptions after one was replaced shows the new one only."""
    create = """mutation($uri: String!) { webhookSubscriptionCreate(topic: ORDERS_CREATE,
      webhookSubscription: {uri: $uri}) { webhookSubscription { id } } }"""
    listing = "{ webhookSubscriptions(first: 5) { nodes { uri } } }"
    first = shop.gql(create, {"uri": "https://hooks.test/a"})
    first_id = first["data"]["webhookSubscriptionCreate"]["webhookSubscription"]["id"]
    shop.gql(listing)
    shop.gql(
        "mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { userErrors { message } } }",
        {"id": first_id},
    )
    shop.gql(create, {"uri": "https://hooks.test/b"})

    body = shop.gql(listing)

    assert body["data"]["webhookSubscriptions"]["nodes"] == [{"uri": "https://hooks.test/b"}]


def test_deprecated_field_sets_deprecation_header(shop: Shop) -> None:
    """Using a deprecated field (InventoryItem.variant from 2026-01) adds the deprecation header."""
    item, _, _ = shop.first_item()
    query = "query($i: ID!) { inventoryItem(id: $i) { variant { sku } } }"

    deprecated = shop.http.post(
        "/admin/api/2026-04/graphql.json", json={"query": query, "variables": {"i": item}}
    )
    current = shop.http.post(
        "/admin/api/2025-10/graphql.json", json={"query": query, "variables": {"i": item}}
    )

    assert "X-Shopify-API-Deprecated-Reason" in deprecated.headers
    assert "X-Shopify-API-Deprecated-Reason" not in current.headers
