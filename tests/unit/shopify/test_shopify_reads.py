"""Reads of the Shopify client: levels in batches of 250, variants, locations and webhooks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shopify_sync.adapters.shopify import ShopifyClient
from shopify_sync.domain.model import LevelRead, Location, Variant, WebhookSubscription
from shopify_sync.errors import StoreRejected, StoreUnavailable
from shopify_sync.services.ports import StoreClient
from shopify_sync.types import InventoryItemId, LocationId, VariantId
from tests.unit.shopify.shopify_fakes import (
    FakeClock,
    RoutedShop,
    ScriptedShop,
    gql,
    item_node,
    make_client,
    paged,
)

pytestmark = pytest.mark.anyio

AT = datetime(2026, 5, 1, 10, 0, 1, tzinfo=UTC)


def levels_shop(nodes: dict[str, dict[str, Any] | None]) -> RoutedShop:
    """A shop answering ReadLevels from *nodes* by GID (missing ids are null)."""
    return RoutedShop({"ReadLevels": lambda v: {"nodes": [nodes.get(gid) for gid in v["ids"]]}})


def test_shopify_client_implements_the_store_client_port(clock: FakeClock) -> None:
    """ShopifyClient type-checks as a StoreClient."""
    client: StoreClient = ShopifyClient(
        "https://x.myshopify.com",
        "2026-04",
        "secret-token",
        LocationId(1),
        http=httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500))),
        clock=clock,
    )

    assert "2026-04" in repr(client)
    assert "secret-token" not in repr(client)


async def test_read_levels_maps_known_unknown_and_unstocked_items(clock: FakeClock) -> None:
    """Known items get available and timestamp; unstocked None; unknown or foreign nodes unknown."""
    shop = levels_shop(
        {
            "gid://shopify/InventoryItem/1": item_node("gid://shopify/InventoryItem/1", 7),
            "gid://shopify/InventoryItem/2": item_node("gid://shopify/InventoryItem/2", None),
            "gid://shopify/InventoryItem/3": item_node(
                "gid://shopify/InventoryItem/3", -2, tracked=False
            ),
            "gid://shopify/InventoryItem/5": {},
        }
    )
    client, http = make_client(shop, clock)
    ids = [InventoryItemId(n) for n in (1, 2, 3, 4, 5)]

    async with http:
        levels = await client.read_levels(ids)

    assert levels == {
        ids[0]: LevelRead(ids[0], available=7, updated_at=AT),
        ids[1]: LevelRead(ids[1], available=None, updated_at=None),
        ids[2]: LevelRead(ids[2], available=-2, updated_at=AT, tracked=False),
        ids[3]: LevelRead(ids[3], available=None, updated_at=None, tracked=False, known=False),
        ids[4]: LevelRead(ids[4], available=None, updated_at=None, tracked=False, known=False),
    }


async def test_read_levels_parses_offsets_to_aware_datetimes(clock: FakeClock) -> None:
    """A level timestamp with a UTC offset becomes an aware datetime of the same instant."""
    node = item_node("gid://shopify/InventoryItem/1", 3)
    node["inventoryLevel"]["updatedAt"] = "2026-05-01T06:00:01-04:00"
    shop = levels_shop({"gid://shopify/InventoryItem/1": node})
    client, http = make_client(shop, clock)

    async with http:
        levels = await client.read_levels([InventoryItemId(1)])

    assert levels[InventoryItemId(1)].updated_at == AT


async def test_read_levels_batches_250_ids_per_call(clock: FakeClock) -> None:
    """600 ids (with repeats) are read in calls of 250, 250 and 100 distinct ids."""
    shop = levels_shop({})
    client, http = make_client(shop, clock)
    ids = [InventoryItemId(n) for n in range(1, 601)]

    async with http:
        levels = await client.read_levels(ids + ids[:10])

    assert [len(body["variables"]["ids"]) for body in shop.graphql_bodies()] == [250, 250, 100]
    assert list(levels) == ids


async def test_read_levels_of_nothing_sends_nothing(clock: FakeClock) -> None:
    """An empty id list returns an empty mapping without a request."""
    shop = levels_shop({})
    client, http = make_client(shop, clock)

    async with http:
        levels = await client.read_levels([])

    assert levels == {}
    assert shop.requests == []


async def test_read_levels_with_a_short_answer_is_unavailable(clock: FakeClock) -> None:
    """An answer with fewer nodes than ids asked for raises StoreUnavailable."""
    shop = ScriptedShop([gql({"nodes": []})])
    client, http = make_client(shop, clock)

    async with http:
        with pytest.raises(StoreUnavailable, match="unreadable"):
            await client.read_levels([InventoryItemId(1)])


async def test_resolve_inventory_items_leaves_unknown_variants_out(clock: FakeClock) -> None:
    """Variants map to their inventory items in batches; null or foreign nodes are omitted."""

    def resolve(variables: dict[str, Any]) -> dict[str, Any]:
        nodes: list[dict[str, Any] | None] = []
        for gid in variables["ids"]:
            number = int(gid.rsplit("/", 1)[1])
            if number % 2:
                nodes.append(
                    {
                        "id": gid,
                        "inventoryItem": {"id": f"gid://shopify/InventoryItem/{number + 1000}"},
                    }
                )
            else:
                nodes.append(None if number % 4 else {})
        return {"nodes": nodes}

    shop = RoutedShop({"ResolveInventoryItems": resolve})
    client, http = make_client(shop, clock)

    async with http:
        found = await client.resolve_inventory_items([VariantId(n) for n in range(1, 301)])

    assert found == {VariantId(n): InventoryItemId(n + 1000) for n in range(1, 301, 2)}
    assert len(shop.requests) == 2


def _variant(number: int, title: str, sku: str | None) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/ProductVariant/{number}",
        "title": title,
        "sku": sku,
        "product": {"title": "Shirt"},
        "inventoryItem": {
            "id": f"gid://shopify/InventoryItem/{number + 100}",
            "tracked": number != 3,
        },
    }


async def test_find_variants_follows_pages_up_to_the_limit(clock: FakeClock) -> None:
    """Variants come from successive pages, titled product + variant, cut at the limit."""
    pages = [[_variant(1, "Red", "S-1"), _variant(2, "Default Title", "")], [_variant(3, "", None)]]
    shop = RoutedShop({"FindVariants": paged("productVariants", pages)})
    client, http = make_client(shop, clock)

    async with http:
        found = await client.find_variants("sku:S-*", limit=3)

    assert found == [
        Variant(VariantId(1), InventoryItemId(101), "S-1", "Shirt - Red"),
        Variant(VariantId(2), InventoryItemId(102), None, "Shirt"),
        Variant(VariantId(3), InventoryItemId(103), None, "Shirt", tracked=False),
    ]
    bodies = shop.graphql_bodies()
    assert [(b["variables"]["first"], b["variables"]["after"]) for b in bodies] == [
        (3, None),
        (1, "p1"),
    ]
    assert bodies[0]["variables"]["query"] == "sku:S-*"


async def test_locations_reads_every_page(clock: FakeClock) -> None:
    """Locations of all pages are returned, inactive ones included."""

    def location(number: int, active: bool) -> dict[str, Any]:
        return {
            "id": f"gid://shopify/Location/{number}",
            "name": f"L{number}",
            "isActive": active,
            "fulfillsOnlineOrders": not active,
        }

    shop = RoutedShop(
        {"Locations": paged("locations", [[location(1, True)], [location(2, False)]])}
    )
    client, http = make_client(shop, clock)

    async with http:
        found = await client.locations()

    assert found == [
        Location(LocationId(1), "L1", active=True, fulfills_online_orders=False),
        Location(LocationId(2), "L2", active=False, fulfills_online_orders=True),
    ]


@pytest.mark.parametrize(("version", "field"), [("2026-04", "uri"), ("2025-07", "callbackUrl")])
async def test_webhook_subscriptions_map_topics_to_rest_form(
    clock: FakeClock, version: str, field: str
) -> None:
    """Subscriptions of every page come back with REST topics and their address."""
    hooks = [
        [
            {
                "id": "gid://shopify/WebhookSubscription/1",
                "topic": "INVENTORY_LEVELS_UPDATE",
                field: "https://a/1",
            }
        ],
        [
            {
                "id": "gid://shopify/WebhookSubscription/2",
                "topic": "ORDERS_CREATE",
                field: "https://a/2",
            }
        ],
    ]
    shop = RoutedShop({"WebhookSubscriptions": paged("webhookSubscriptions", hooks)})
    client, http = make_client(shop, clock, version=version)

    async with http:
        found = await client.webhook_subscriptions()

    assert found == [
        WebhookSubscription(
            "gid://shopify/WebhookSubscription/1", "inventory_levels/update", "https://a/1"
        ),
        WebhookSubscription("gid://shopify/WebhookSubscription/2", "orders/create", "https://a/2"),
    ]


async def test_create_webhook_subscription_sends_the_enum_topic(clock: FakeClock) -> None:
    """Creating sends the GraphQL topic enum and the uri, and returns the subscription."""
    created = {
        "id": "gid://shopify/WebhookSubscription/9",
        "topic": "INVENTORY_LEVELS_UPDATE",
        "uri": "https://h/i",
    }
    shop = RoutedShop(
        {
            "CreateWebhookSubscription": lambda v: {
                "webhookSubscriptionCreate": {"webhookSubscription": created, "userErrors": []}
            }
        }
    )
    client, http = make_client(shop, clock)

    async with http:
        found = await client.create_webhook_subscription("inventory_levels/update", "https://h/i")

    assert found == WebhookSubscription(created["id"], "inventory_levels/update", "https://h/i")
    assert shop.graphql_bodies()[0]["variables"] == {
        "topic": "INVENTORY_LEVELS_UPDATE",
        "subscription": {"uri": "https://h/i", "format": "JSON"},
    }


async def test_create_webhook_subscription_refused_raises(clock: FakeClock) -> None:
    """userErrors on create raise StoreRejected with Shopify's message."""
    error = {
        "field": ["webhookSubscription", "uri"],
        "message": "Address for this topic has already been taken",
    }
    shop = RoutedShop(
        {
            "CreateWebhookSubscription": lambda v: {
                "webhookSubscriptionCreate": {"webhookSubscription": None, "userErrors": [error]}
            }
        }
    )
    client, http = make_client(shop, clock)

    async with http:
        with pytest.raises(StoreRejected, match="already been taken"):
            await client.create_webhook_subscription("orders/create", "https://h/o")


def delete_shop(errors: list[dict[str, Any]]) -> RoutedShop:
    """A shop answering DeleteWebhookSubscription with *errors* (none: deleted)."""
    return RoutedShop(
        {
            "DeleteWebhookSubscription": lambda v: {
                "webhookSubscriptionDelete": {
                    "deletedWebhookSubscriptionId": None if errors else v["id"],
                    "userErrors": errors,
                }
            }
        }
    )


async def test_delete_webhook_subscription_sends_the_id(clock: FakeClock) -> None:
    """Deleting sends the subscription's GID and returns quietly on success."""
    shop = delete_shop([])
    client, http = make_client(shop, clock)

    async with http:
        await client.delete_webhook_subscription("gid://shopify/WebhookSubscription/1")

    assert json.loads(shop.requests[0].content)["variables"] == {
        "id": "gid://shopify/WebhookSubscription/1"
    }


async def test_delete_webhook_subscription_refused_raises(clock: FakeClock) -> None:
    """userErrors on delete raise StoreRejected with Shopify's message."""
    shop = delete_shop([{"field": ["id"], "message": "Webhook subscription does not exist"}])
    client, http = make_client(shop, clock)

    async with http:
        with pytest.raises(StoreRejected, match="does not exist"):
            await client.delete_webhook_subscription("gid://shopify/WebhookSubscription/1")
