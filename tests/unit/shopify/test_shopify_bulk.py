"""The snapshot bulk operation: start, poll on the clock, stream the JSONL line by line."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shopify_sync.adapters.shopify.bulk import BulkPolling
from shopify_sync.domain.model import LevelRead, Variant
from shopify_sync.errors import StoreRejected, StoreUnavailable
from shopify_sync.types import InventoryItemId, VariantId
from tests.unit.shopify.shopify_fakes import (
    BULK_URL,
    TOKEN,
    FakeClock,
    RoutedShop,
    full_shop,
    item_node,
    make_client,
)

pytestmark = pytest.mark.anyio


def bulk_shop(
    statuses: list[dict[str, Any]], *, started: dict[str, Any] | None = None
) -> RoutedShop:
    """A shop that starts a bulk operation and reports *statuses* on successive polls."""
    polls = iter(statuses)
    shop = full_shop()
    if started is not None:
        shop.resolvers["RunBulkQuery"] = lambda v: {"bulkOperationRunQuery": started}
    shop.resolvers["PollBulkOperation"] = lambda v: {
        "bulkOperation": {"id": v["id"], "errorCode": None, "url": None} | next(polls)
    }
    return shop


async def _snapshot(shop: RoutedShop, clock: FakeClock, **kwargs: Any) -> list[LevelRead]:
    client, http = make_client(shop, clock, **kwargs)
    async with http:
        return [level async for level in client.snapshot_levels()]


async def test_snapshot_yields_every_row_and_polls_with_growing_waits(clock: FakeClock) -> None:
    """Rows of the result file become LevelReads; polls wait 1 s, then 2 s, then 4 s."""
    shop = bulk_shop(
        [{"status": "RUNNING"}, {"status": "RUNNING"}, {"status": "COMPLETED", "url": BULK_URL}]
    )

    levels = await _snapshot(shop, clock)

    assert [(level.inventory_item_id, level.available) for level in levels] == [
        (InventoryItemId(21), 4),
        (InventoryItemId(22), None),
    ]
    assert clock.sleeps == [1, 2, 4]


async def test_snapshot_fetches_the_result_without_the_token(clock: FakeClock) -> None:
    """The pre-signed result URL is fetched without the access token."""
    shop = bulk_shop([{"status": "COMPLETED", "url": BULK_URL}])

    await _snapshot(shop, clock)

    download = [r for r in shop.requests if r.method == "GET"]
    assert [str(r.url) for r in download] == [BULK_URL]
    assert "X-Shopify-Access-Token" not in download[0].headers
    assert TOKEN.encode() not in download[0].content


async def test_snapshot_streams_lines_split_across_chunks(clock: FakeClock) -> None:
    """Rows arrive while the file is still streaming, and lines split across chunks parse."""
    lines = [
        json.dumps(item_node(f"gid://shopify/InventoryItem/{n}", n)).encode() + b"\n"
        for n in range(1, 2001)
    ]
    data = b"".join(lines)
    pulled: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 333):
            pulled.append(start)
            yield data[start : start + 333]

    shop = bulk_shop([{"status": "COMPLETED", "url": BULK_URL}])
    routed = shop.__call__

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            shop.requests.append(request)
            return httpx.Response(200, content=chunks())
        return routed(request)

    client, http = make_client(handler, clock)
    seen: list[int] = []
    async with http:
        async for level in client.snapshot_levels():
            if not seen:
                chunks_when_first_row_arrived = len(pulled)
            seen.append(level.available or 0)

    assert seen == list(range(1, 2001))
    assert chunks_when_first_row_arrived < len(data) // 333 // 10


async def test_completed_without_a_url_yields_nothing(clock: FakeClock) -> None:
    """A completed operation without a result URL found no objects."""
    shop = bulk_shop([{"status": "COMPLETED", "url": None}])

    assert await _snapshot(shop, clock) == []


@pytest.mark.parametrize(
    ("status", "error_code", "expected"),
    [
        ("FAILED", "INTERNAL_SERVER_ERROR", StoreUnavailable),
        ("FAILED", "TIMEOUT", StoreUnavailable),
        ("FAILED", "ACCESS_DENIED", StoreRejected),
        ("CANCELED", None, StoreUnavailable),
        ("EXPIRED", None, StoreUnavailable),
    ],
)
async def test_operations_that_do_not_complete_raise(
    clock: FakeClock, status: str, error_code: str | None, expected: type[Exception]
) -> None:
    """Failed, cancelled or expired operations raise; access denied is a rejection."""
    shop = bulk_shop([{"status": status, "errorCode": error_code}])

    with pytest.raises(expected, match=status if expected is StoreUnavailable else "denied"):
        await _snapshot(shop, clock)


async def test_polling_gives_up_after_the_timeout(clock: FakeClock) -> None:
    """An operation still running after the polling timeout raises StoreUnavailable."""
    shop = bulk_shop([{"status": "RUNNING"}] * 100)

    with pytest.raises(StoreUnavailable, match="still RUNNING"):
        await _snapshot(shop, clock, bulk_polling=BulkPolling(first_s=10, max_s=10, timeout_s=60))

    assert clock.sleeps == [10] * 6


@pytest.mark.parametrize(
    ("code", "expected"),
    [("OPERATION_IN_PROGRESS", StoreUnavailable), ("INVALID", StoreRejected)],
)
async def test_a_refused_start_raises(
    clock: FakeClock, code: str, expected: type[Exception]
) -> None:
    """A bulk query already in progress is retryable; an invalid bulk query is rejected."""
    started = {
        "bulkOperation": None,
        "userErrors": [{"code": code, "field": None, "message": "no"}],
    }
    shop = bulk_shop([], started=started)

    with pytest.raises(expected):
        await _snapshot(shop, clock)


async def test_an_unknown_operation_id_is_unavailable(clock: FakeClock) -> None:
    """A poll answering null for our operation raises StoreUnavailable."""
    shop = full_shop()
    shop.resolvers["PollBulkOperation"] = lambda v: {"bulkOperation": None}

    with pytest.raises(StoreUnavailable, match="unknown"):
        await _snapshot(shop, clock)


async def test_a_malformed_row_is_unavailable(clock: FakeClock) -> None:
    """A result line that is not an inventory item raises StoreUnavailable naming the line."""
    shop = bulk_shop([{"status": "COMPLETED", "url": BULK_URL}])
    shop.files[BULK_URL] = (
        b'{"id": "gid://shopify/InventoryItem/1", "tracked": true}\n{"oops": 1}\n'
    )

    with pytest.raises(StoreUnavailable, match="line 2"):
        await _snapshot(shop, clock)


async def test_an_unreadable_result_url_is_unavailable(clock: FakeClock) -> None:
    """A result URL answering 403 (e.g. expired) raises StoreUnavailable."""
    shop = bulk_shop([{"status": "COMPLETED", "url": BULK_URL}])
    routed = shop.__call__

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403) if request.method == "GET" else routed(request)

    client, http = make_client(handler, clock)
    async with http:
        with pytest.raises(StoreUnavailable, match="HTTP 403"):
            _ = [level async for level in client.snapshot_levels()]


async def test_a_broken_download_is_unavailable(clock: FakeClock) -> None:
    """A connection dropped mid-download raises StoreUnavailable, not an httpx error."""
    shop = bulk_shop([{"status": "COMPLETED", "url": BULK_URL}])
    routed = shop.__call__

    async def broken() -> AsyncIterator[bytes]:
        yield json.dumps(item_node("gid://shopify/InventoryItem/1", 1)).encode() + b"\n"
        raise httpx.ReadError("connection reset")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, content=broken())
        return routed(request)

    client, http = make_client(handler, clock)
    seen: list[LevelRead] = []

    async def consume() -> None:
        async for level in client.snapshot_levels():
            seen.append(level)

    async with http:
        with pytest.raises(StoreUnavailable):
            await consume()

    assert len(seen) == 1


def _variant_line(number: int, sku: str | None, *, tracked: bool = True, title: str = "") -> str:
    return json.dumps(
        {
            "id": f"gid://shopify/ProductVariant/{number}",
            "sku": sku,
            "title": title or "Default Title",
            "product": {"title": f"Product {number}"},
            "inventoryItem": {
                "id": f"gid://shopify/InventoryItem/{number + 1000}",
                "tracked": tracked,
            },
        }
    )


async def test_catalogue_variants_stream_the_bulk_rows_as_variants(clock: FakeClock) -> None:
    """Each JSONL row of the variants bulk query becomes a Variant (id, SKU, item, tracking)."""
    shop = bulk_shop([{"status": "COMPLETED", "url": BULK_URL}])
    lines = [_variant_line(1, "A-1"), _variant_line(2, None, tracked=False, title="Large")]
    shop.files[BULK_URL] = ("\n".join(lines) + "\n").encode()
    client, http = make_client(shop, clock)

    async with http:
        variants = [v async for v in client.catalogue_variants()]

    assert variants == [
        Variant(VariantId(1), InventoryItemId(1001), "A-1", "Product 1", True),
        Variant(VariantId(2), InventoryItemId(1002), None, "Product 2 - Large", False),
    ]
    started = next(b for b in shop.graphql_bodies() if b["operationName"] == "RunBulkQuery")
    assert "productVariants" in started["variables"]["query"]


async def test_a_malformed_variant_row_is_unavailable(clock: FakeClock) -> None:
    """A variants row without its inventory item stops the read as a Shopify failure."""
    shop = bulk_shop([{"status": "COMPLETED", "url": BULK_URL}])
    shop.files[BULK_URL] = b'{"id": "gid://shopify/ProductVariant/1", "sku": "A"}\n'
    client, http = make_client(shop, clock)

    with pytest.raises(StoreUnavailable, match="bulk result line 1"):
        async with http:
            _ = [v async for v in client.catalogue_variants()]
