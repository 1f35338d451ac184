"""Webhook input is bounded at the edge: out-of-range fields are a recorded 400 that changes
nothing; unparseable headers the signature does not cover are ignored, never a failure;
a level dated ahead of our clock is re-read instead of becoming ``shopify_seen_at``."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from shopify_sync.adapters.db.tables import product_inventory, webhook_events
from shopify_sync.adapters.shopify.webhooks import sign
from tests.integration.web.conftest import SECRET, Harness
from tests.integration.web.test_app import add_product, level, row, webhook

INVENTORY = "/webhooks/inventory-update"
ORDERS = "/webhooks/orders-create"


def events(h: Harness) -> list[tuple[str, str, str | None, datetime | None, str | None]]:
    """Every recorded delivery: (event id, status, shop domain, triggered at, detail)."""

    async def get() -> list[tuple[str, str, str | None, datetime | None, str | None]]:
        w = webhook_events
        async with h.container.uow.engine.connect() as c:  # type: ignore[attr-defined]
            result = await c.execute(
                select(w.c.event_id, w.c.status, w.c.shop_domain, w.c.triggered_at, w.c.detail)
            )
            return [(r[0], r[1], r[2], r[3], r[4]) for r in result]

    return h.client.portal.call(get)  # type: ignore[union-attr]


def seen_at(h: Harness, pid: str) -> datetime | None:
    """The product's ``shopify_seen_at``."""

    async def get() -> datetime | None:
        t = product_inventory
        async with h.container.uow.engine.connect() as c:  # type: ignore[attr-defined]
            query = select(t.c.shopify_seen_at).where(t.c.product_id == pid)
            value: datetime | None = (await c.execute(query)).scalar_one()
            return value

    return h.client.portal.call(get)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"available": 2_000_000_001},
            "available: Input should be less than or equal to 2000000000",
        ),
        ({"available": -2_000_000_001}, "available: Input should be greater than or equal to"),
        ({"available": 10**20}, "available: Input should be less than or equal to"),
        ({"inventory_item_id": 0}, "inventory_item_id: Input should be greater than or equal to 1"),
        ({"inventory_item_id": 2**63}, "inventory_item_id: Input should be less than or equal to"),
        ({"location_id": -1}, "location_id: Input should be greater than or equal to 1"),
        (
            {"updated_at": "0001-01-01T00:00:00+01:00"},
            "updated_at: Input should be greater than or equal to 2006-01-01T00:00:00Z",
        ),
        (
            {"updated_at": "9999-12-31T23:59:59-05:00"},
            "updated_at: Input should be less than 2100-01-01T00:00:00Z",
        ),
    ],
)
def test_level_out_of_range_is_a_recorded_400(
    harness: Harness, change: dict[str, object], reason: str
) -> None:
    """A signed level with a field out of range is a 400 naming the field, recorded as a
    failed delivery, and moves no stock."""
    pid, item = add_product(harness, ours=10, base=10, shopify=10)

    response = webhook(
        harness, INVENTORY, {**level(item, 5), **change}, topic="inventory_levels/update"
    )

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert reason in response.json()["detail"]  # type: ignore[attr-defined]
    assert [(e[0], e[1]) for e in events(harness)] == [("e1", "failed")]
    assert row(harness, pid) == (10, 10)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ({"quantity": 2_000_000_001}, "line_items.0.quantity: Input should be less than or equal"),
        ({"quantity": -1}, "line_items.0.quantity: Input should be greater than or equal to 0"),
        ({"id": 0}, "line_items.0.id: Input should be greater than or equal to 1"),
        ({"variant_id": 2**64}, "line_items.0.variant_id: Input should be less than or equal"),
        ({"sku": "A\x00B"}, "line_items.0.sku: must not contain a NUL character"),
    ],
)
def test_order_out_of_range_is_a_recorded_400(
    harness: Harness, line: dict[str, object], reason: str
) -> None:
    """A signed order with a line out of range is a 400 naming the field, recorded."""
    order = {"id": 1, "name": "#1", "line_items": [
        {"id": 1, "variant_id": 1, "sku": "S", "quantity": 1, "title": "T", **line}]}  # fmt: skip

    response = webhook(harness, ORDERS, order, topic="orders/create", event="o1")

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert reason in response.json()["detail"]  # type: ignore[attr-defined]
    assert [(e[0], e[1]) for e in events(harness)] == [("o1", "failed")]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Shopify-Triggered-At", "0001-01-01T00:00:00+01:00"),
        ("X-Shopify-Triggered-At", "9999-12-31T23:59:59-05:00"),
        ("X-Shopify-Triggered-At", "yesterday"),
        ("X-Shopify-Triggered-At", "2026-05-01T10:00:00" + "0" * 5000),
        ("X-Shopify-Shop-Domain", "not a domain"),
        ("X-Shopify-Shop-Domain", "a" * 300 + ".myshopify.com"),
        ("X-Shopify-API-Version", "2026-10; drop table"),
        ("X-Shopify-Webhook-Id", "w" * 201),
        ("X-Shopify-Webhook-Id", "has spaces"),
    ],
)
def test_unparseable_unsigned_header_is_ignored_and_logged(
    harness: Harness, header: str, value: str
) -> None:
    """A header the signature does not cover that cannot be parsed is treated as absent
    (and logged): the genuine delivery it came with still applies."""
    pid, item = add_product(harness, ours=10, base=10, shopify=10)
    body = json.dumps(level(item, 8)).encode()
    headers = {
        "X-Shopify-Hmac-Sha256": sign(body, SECRET), "X-Shopify-Event-Id": "e1",
        "X-Shopify-Topic": "inventory_levels/update", header: value,
    }  # fmt: skip

    with capture_logs() as logs:
        response = harness.client.post(INVENTORY, content=body, headers=headers)

    assert (response.status_code, response.json()["status"]) == (200, "processed")
    assert row(harness, pid) == (8, 8)
    assert [e[:4] for e in events(harness)] == [("e1", "processed", None, None)]
    ignored = [e for e in logs if e["event"].startswith("webhook header ignored")]
    assert [e["header"] for e in ignored] == [header.lower()]


def test_unparseable_event_id_falls_back_to_the_webhook_id(harness: Harness) -> None:
    """An event id that cannot be parsed is absent: the delivery id de-duplicates instead."""
    pid, item = add_product(harness, ours=10, base=10, shopify=10)
    body = json.dumps(level(item, 8)).encode()
    headers = {"X-Shopify-Hmac-Sha256": sign(body, SECRET), "X-Shopify-Event-Id": "x y",
               "X-Shopify-Webhook-Id": "w-1"}  # fmt: skip

    first = harness.client.post(INVENTORY, content=body, headers=headers)
    again = harness.client.post(INVENTORY, content=body, headers=headers)

    assert (first.json()["status"], again.json()["status"]) == ("processed", "duplicate")
    assert row(harness, pid) == (8, 8)


def test_no_usable_delivery_id_is_a_400(harness: Harness) -> None:
    """Without an event or delivery id that parses, the delivery cannot be de-duplicated:
    400 with what is expected, and nothing changes."""
    pid, item = add_product(harness, ours=10, base=10, shopify=10)
    body = json.dumps(level(item, 8)).encode()
    headers = {"X-Shopify-Hmac-Sha256": sign(body, SECRET), "X-Shopify-Event-Id": "\t"}

    response = harness.client.post(INVENTORY, content=body, headers=headers)

    assert response.status_code == 400
    assert "missing X-Shopify-Event-Id" in response.json()["detail"]
    assert row(harness, pid) == (10, 10)


def test_level_from_the_future_is_re_read_not_recorded(harness: Harness) -> None:
    """A level dated further ahead of our clock than the tolerance never becomes
    shopify_seen_at: it asks for a re-read (logged), and a genuine later level still applies."""
    pid, item = add_product(harness, ours=10, base=10, shopify=10)
    # FakeClock reads 2026-05-01T10:00:00Z; this is an hour ahead of it.
    future = level(item, 3, "2026-05-01T07:00:00-04:00")

    with capture_logs() as logs:
        response = webhook(harness, INVENTORY, future, topic="inventory_levels/update")
    genuine = webhook(
        harness, INVENTORY, level(item, 7, "2026-05-01T05:59:00-04:00"),
        topic="inventory_levels/update", event="e2",
    )  # fmt: skip

    assert (response.status_code, response.json()["status"]) == (200, "processed")  # type: ignore[attr-defined]
    assert "ahead of our clock" in response.json()["detail"]  # type: ignore[attr-defined]
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "webhook level dated ahead of our clock; re-reading it instead"
    ]
    assert genuine.json()["status"] == "processed"  # type: ignore[attr-defined]
    assert row(harness, pid) == (7, 7)
    assert seen_at(harness, pid) == datetime.fromisoformat("2026-05-01T09:59:00+00:00")
