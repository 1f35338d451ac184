"""Test doubles for the Shopify client: a fake clock and a scripted Shopify at the HTTP boundary."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shopify_sync.adapters.shopify.bulk import BulkPolling
from shopify_sync.adapters.shopify.client import ShopifyClient
from shopify_sync.services.ports import Clock
from shopify_sync.types import LocationId

ADMIN_URL = "https://test-shop.myshopify.com"
TOKEN = "shpat_test_token_0123456789"
LOCATION = LocationId(124656943)
START = datetime(2026, 5, 1, 10, 0, 0, tzinfo=UTC)


class FakeClock:
    """A clock that records every sleep and advances itself instead of waiting."""

    def __init__(self, now: datetime = START) -> None:
        self.current = now
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += timedelta(seconds=seconds)


_: Clock = FakeClock()

Step = httpx.Response | Callable[[httpx.Request], httpx.Response]


def fail(error: type[httpx.RequestError]) -> Callable[[httpx.Request], httpx.Response]:
    """A step that raises a transport error of type *error* for the request."""

    def raise_error(request: httpx.Request) -> httpx.Response:
        raise error(f"simulated {error.__name__}", request=request)

    return raise_error


@dataclass
class ScriptedShop:
    """Answers requests with scripted steps in order (the last one repeats) and records them."""

    steps: list[Step]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    @property
    def bodies(self) -> list[bytes]:
        """Every request body sent, in order."""
        return [request.content for request in self.requests]

    def json_bodies(self) -> list[dict[str, Any]]:
        """Every request body sent, parsed."""
        return [json.loads(body) for body in self.bodies]


def cost(
    *, requested: float = 10, available: float = 1990, maximum: float = 2000, rate: float = 100
) -> dict[str, Any]:
    """An ``extensions.cost`` block."""
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": requested,
        "throttleStatus": {
            "maximumAvailable": maximum,
            "currentlyAvailable": available,
            "restoreRate": rate,
        },
    }


def gql(data: dict[str, Any], **cost_kwargs: float) -> httpx.Response:
    """A successful GraphQL answer with a cost report."""
    return httpx.Response(200, json={"data": data, "extensions": {"cost": cost(**cost_kwargs)}})


def throttled(*, requested: float, available: float, rate: float = 100) -> httpx.Response:
    """Shopify's THROTTLED answer (HTTP 200, no data)."""
    report = cost(requested=requested, available=available, rate=rate)
    report["actualQueryCost"] = None
    return httpx.Response(
        200,
        json={
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": {"cost": report},
        },
    )


def make_client(
    shop: Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]],
    clock: FakeClock,
    *,
    version: str = "2026-04",
    max_attempts: int = 6,
    **kwargs: Any,
) -> tuple[ShopifyClient, httpx.AsyncClient]:
    """A client on a MockTransport; the caller closes the returned http client."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(shop))
    client = ShopifyClient(
        ADMIN_URL,
        version,
        TOKEN,
        LOCATION,
        http=http,
        clock=clock,
        max_attempts=max_attempts,
        rng=random.Random(7),
        bulk_polling=kwargs.pop("bulk_polling", BulkPolling(first_s=1, factor=2, max_s=8)),
        **kwargs,
    )
    return client, http


Resolver = Callable[[dict[str, Any]], dict[str, Any] | httpx.Response]
BULK_URL = "https://storage.example.com/bulk/result.jsonl"


@dataclass
class RoutedShop:
    """A GraphQL shop routing on ``operationName`` to resolvers; records every request."""

    resolvers: dict[str, Resolver]
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "GET":
            return httpx.Response(200, content=self.files[str(request.url)])
        body = json.loads(request.content)
        answer = self.resolvers[body["operationName"]](body["variables"])
        return answer if isinstance(answer, httpx.Response) else gql(answer)

    def graphql_bodies(self) -> list[dict[str, Any]]:
        """Every GraphQL request body sent, parsed."""
        return [json.loads(r.content) for r in self.requests if r.method == "POST"]


def item_node(gid: str, available: int | None, *, tracked: bool = True) -> dict[str, Any]:
    """An ``InventoryItem`` node as ``ReadLevels`` selects it."""
    level = None
    if available is not None:
        level = {
            "updatedAt": "2026-05-01T10:00:01Z",
            "quantities": [
                {"name": "available", "quantity": available, "updatedAt": "2026-05-01T10:00:01Z"}
            ],
        }
    return {"id": gid, "tracked": tracked, "inventoryLevel": level}


def paged(key: str, pages: list[list[dict[str, Any]]]) -> Resolver:
    """A connection resolver serving *pages* by cursor ``p<n>``."""

    def resolve(variables: dict[str, Any]) -> dict[str, Any]:
        after = variables.get("after")
        index = 0 if after is None else int(after[1:])
        has_next = index + 1 < len(pages)
        page_info = {"hasNextPage": has_next, "endCursor": f"p{index + 1}" if has_next else None}
        return {key: {"nodes": pages[index], "pageInfo": page_info}}

    return resolve


def full_shop() -> RoutedShop:
    """A shop answering every operation the client can send (two pages where it pages)."""
    polls = iter(["RUNNING", "COMPLETED"])

    def poll(variables: dict[str, Any]) -> dict[str, Any]:
        status = next(polls, "COMPLETED")
        url = BULK_URL if status == "COMPLETED" else None
        return {
            "bulkOperation": {
                "id": variables["id"],
                "status": status,
                "errorCode": None,
                "objectCount": "2",
                "url": url,
                "partialDataUrl": None,
            }
        }

    variant = {
        "id": "gid://shopify/ProductVariant/11",
        "title": "Red",
        "sku": "ABC-1",
        "product": {"title": "Shirt"},
        "inventoryItem": {"id": "gid://shopify/InventoryItem/21", "tracked": True},
    }
    location = {
        "id": "gid://shopify/Location/124656943",
        "name": "Warehouse",
        "isActive": True,
        "fulfillsOnlineOrders": True,
    }
    hook = {
        "id": "gid://shopify/WebhookSubscription/5",
        "topic": "ORDERS_CREATE",
        "uri": "https://sync.example.com/webhooks/orders-create",
        "callbackUrl": "https://sync.example.com/webhooks/orders-create",
    }
    return RoutedShop(
        resolvers={
            "ReadLevels": lambda v: {"nodes": [item_node(gid, 5) for gid in v["ids"]]},
            "ResolveInventoryItems": lambda v: {
                "nodes": [
                    {"id": gid, "inventoryItem": {"id": "gid://shopify/InventoryItem/21"}}
                    for gid in v["ids"]
                ]
            },
            "FindVariants": paged("productVariants", [[variant], [variant]]),
            "FindProductVariants": lambda v: {
                "products": {"nodes": [{"variants": {"nodes": [variant]}}]}
            },
            "Location": lambda v: {"location": location},
            "Locations": paged("locations", [[location], [location]]),
            "WebhookSubscriptions": paged("webhookSubscriptions", [[hook], [hook]]),
            "CreateWebhookSubscription": lambda v: {
                "webhookSubscriptionCreate": {"webhookSubscription": hook, "userErrors": []}
            },
            "DeleteWebhookSubscription": lambda v: {
                "webhookSubscriptionDelete": {
                    "deletedWebhookSubscriptionId": v["id"],
                    "userErrors": [],
                }
            },
            "SetAvailable": lambda v: {
                "inventorySetQuantities": {
                    "inventoryAdjustmentGroup": {
                        "id": "gid://shopify/InventoryAdjustmentGroup/9",
                        "createdAt": "2026-05-01T10:00:02Z",
                    },
                    "userErrors": [],
                }
            },
            "RunBulkQuery": lambda v: {
                "bulkOperationRunQuery": {
                    "bulkOperation": {"id": "gid://shopify/BulkOperation/1", "status": "CREATED"},
                    "userErrors": [],
                }
            },
            "PollBulkOperation": poll,
        },
        files={
            BULK_URL: (
                json.dumps(item_node("gid://shopify/InventoryItem/21", 4))
                + "\n"
                + json.dumps(item_node("gid://shopify/InventoryItem/22", None))
                + "\n"
            ).encode()
        },
    )
