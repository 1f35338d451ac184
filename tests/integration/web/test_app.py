"""The HTTP API through the real app: every endpoint and every status code it promises."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from shopify_sync.adapters.shopify.webhooks import sign
from shopify_sync.entrypoints.web.app import create_app
from tests.factories import UNREACHABLE, random_item_id, random_product_id
from tests.fakes import FakeClock, FakeStoreClient, unavailable
from tests.integration.web.conftest import SECRET, TOKEN, Harness, builder, make_settings

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def add_product(
    h: Harness, *, ours: int, base: int | None, shopify: int | None, enabled: bool = True,
    linked: bool = True,
) -> tuple[str, int]:  # fmt: skip
    pid, item = random_product_id(), random_item_id()
    if shopify is not None:
        h.store.add(item, shopify)

    async def insert() -> None:
        engine = h.container.uow.engine  # type: ignore[attr-defined]
        async with engine.begin() as c:
            await c.execute(
                text(
                    "INSERT INTO product_inventory (product_id, b2c_stock,"
                    " shopify_inventory_item_id, shopify_variant_id, sync_enabled, shopify_base,"
                    " allocation_policy, pool_base) VALUES (:p, :o, :i, :v, :e, :b, :policy, :b)"
                ),
                {"p": pid, "o": ours, "i": item if linked else None, "v": "1" if linked else None,
                 "e": enabled, "b": base, "policy": None if base is None else "split"},
            )  # fmt: skip

    h.client.portal.call(insert)  # type: ignore[union-attr]
    return pid, item


def webhook(
    h: Harness, path: str, payload: object, *, topic: str, event: str = "e1",
    secret: str = SECRET, raw: bytes | None = None, signature: str | None = None,
) -> object:  # fmt: skip
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature if signature is not None else sign(body, secret),
        "X-Shopify-Shop-Domain": "demo.myshopify.com",
        "X-Shopify-API-Version": "2026-10",
        "X-Shopify-Webhook-Id": f"w-{event}",
        "X-Shopify-Event-Id": event,
        "X-Shopify-Triggered-At": "2026-05-01T10:00:00Z",
    }
    return h.client.post(path, content=body, headers=headers)


def level(
    item: int, available: int | None, updated_at: str = "2026-05-01T06:00:05-04:00"
) -> dict[str, object]:
    return {
        "inventory_item_id": item, "location_id": 1, "available": available,
        "updated_at": updated_at,
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/1?inventory_item_id={item}",
    }  # fmt: skip


def row(h: Harness, pid: str) -> tuple[int, int | None]:
    async def get() -> tuple[int, int | None]:
        async with h.container.uow() as unit:
            p = await unit.products.get(pid)
        assert p is not None
        return p.b2c_stock, p.shopify_base

    return h.client.portal.call(get)  # type: ignore[union-attr]


def test_sync_product_pushes(harness: Harness) -> None:
    """POST /sync/{id} merges and pushes, answering with both sides' figures."""
    pid, item = add_product(harness, ours=15, base=10, shopify=9)

    response = harness.client.post(f"/sync/{pid}", headers=AUTH)

    assert response.status_code == 200
    assert response.json() == {
        "product_id": pid, "action": "merged", "b2c_stock": 14, "shopify_available": 14,
        "error": None,
    }  # fmt: skip
    assert harness.store.available(item) == 14


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}]
)
def test_sync_requires_the_token(harness: Harness, headers: dict[str, str]) -> None:
    """Without the right bearer token the sync endpoints answer 401."""
    assert harness.client.post("/sync/x", headers=headers).status_code == 401
    assert harness.client.post("/sync/all", headers=headers).status_code == 401


def test_sync_unknown_product_is_404(harness: Harness) -> None:
    """An unknown product id is a 404 with a readable detail."""
    response = harness.client.post("/sync/nope", headers=AUTH)

    assert (response.status_code, response.json()["error"]) == (404, "UnknownProduct")


def test_sync_unlinked_or_disabled_is_409(harness: Harness) -> None:
    """A product not linked to Shopify, or with sync disabled, is a 409."""
    unlinked, _ = add_product(harness, ours=1, base=None, shopify=None, linked=False)
    disabled, _ = add_product(harness, ours=1, base=None, shopify=1, enabled=False)

    assert harness.client.post(f"/sync/{unlinked}", headers=AUTH).status_code == 409
    assert harness.client.post(f"/sync/{disabled}", headers=AUTH).status_code == 409


def test_sync_shopify_outage_is_502_and_recorded(harness: Harness) -> None:
    """Shopify down: 502, sync_error recorded, the row still pending."""
    pid, _ = add_product(harness, ours=15, base=10, shopify=10)
    harness.store.fail_next.append(unavailable())

    response = harness.client.post(f"/sync/{pid}", headers=AUTH)

    assert response.status_code == 502
    assert "503" in response.json()["error"]
    assert row(harness, pid) == (15, 10)


def test_sync_all_and_dry_run(harness: Harness) -> None:
    """POST /sync/all?dry_run=true reports the diff only; without it, reconciles."""
    _, item = add_product(harness, ours=6, base=5, shopify=5)

    dry = harness.client.post("/sync/all?dry_run=true", headers=AUTH).json()
    real = harness.client.post("/sync/all", headers=AUTH).json()

    assert dry["differ"] == 1 and dry["changes"][0]["write_to_shopify"] == 6
    assert (real["checked"], real["changed"], real["failed"]) == (1, 1, 0)
    assert harness.store.available(item) == 6


def test_inventory_webhook_applies_once(harness: Harness) -> None:
    """A signed inventory_levels/update moves b2c_stock; the same event again is a no-op."""
    pid, item = add_product(harness, ours=10, base=10, shopify=10)

    first = webhook(
        harness, "/webhooks/inventory-update", level(item, 8), topic="inventory_levels/update"
    )
    again = webhook(
        harness, "/webhooks/inventory-update", level(item, 8), topic="inventory_levels/update"
    )

    assert (first.status_code, first.json()["status"]) == (200, "processed")  # type: ignore[attr-defined]
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")  # type: ignore[attr-defined]
    assert row(harness, pid) == (8, 8)


def test_webhook_bad_signature_is_401(harness: Harness) -> None:
    """A wrong or missing signature is a 401 and changes nothing."""
    pid, item = add_product(harness, ours=10, base=10, shopify=10)

    wrong = webhook(
        harness,
        "/webhooks/inventory-update",
        level(item, 1),
        topic="inventory_levels/update",
        secret="other",
    )
    missing = webhook(
        harness,
        "/webhooks/inventory-update",
        level(item, 1),
        topic="inventory_levels/update",
        signature="",
    )

    assert (wrong.status_code, missing.status_code) == (401, 401)  # type: ignore[attr-defined]
    assert row(harness, pid) == (10, 10)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "body is not valid JSON: "),
        (b"\xff\xfe", "body is not valid JSON: "),
        (b"[]", "body is not a JSON object"),
        (b"null", "body is not a JSON object"),
        (b'{"inventory_item_id": 1}', "invalid payload: location_id: Field required"),
        (
            b'{"inventory_item_id": "1", "location_id": 1, "available": 3}',
            "invalid payload: inventory_item_id: Input should be a valid integer",
        ),
        (
            b'{"inventory_item_id": 1, "location_id": 1, "available": 3, '
            b'"updated_at": "2026-01-01T00:00:00"}',
            "invalid payload: updated_at: Input should have timezone info",
        ),
    ],
)
def test_webhook_malformed_payload_is_400(harness: Harness, raw: bytes, reason: str) -> None:
    """Malformed JSON or missing / mistyped fields are a 400 with the reason."""
    response = webhook(
        harness, "/webhooks/inventory-update", None, topic="inventory_levels/update", raw=raw
    )

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert response.json()["detail"].startswith(reason)  # type: ignore[attr-defined]


def test_webhook_wrong_topic_is_400(harness: Harness) -> None:
    """A delivery whose topic is not the endpoint's is refused."""
    response = webhook(harness, "/webhooks/inventory-update", {}, topic="orders/create")

    assert response.status_code == 400  # type: ignore[attr-defined]


def test_webhook_body_over_the_cap_is_413(harness: Harness) -> None:
    """A body over WEBHOOK_MAX_BODY_BYTES is refused before its signature is checked."""
    big = b"{" + b" " * 2_000_000 + b"}"

    response = webhook(
        harness, "/webhooks/orders-create", None, topic="orders/create", raw=big, signature="x"
    )

    assert response.status_code == 413  # type: ignore[attr-defined]


def test_order_webhook_logs_without_subtracting(harness: Harness) -> None:
    """orders/create is recorded and never subtracts stock itself."""
    pid, _ = add_product(harness, ours=10, base=10, shopify=10)
    order = {"id": 820982911946154508, "name": "#1001", "test": False, "line_items": [
        {"id": 1, "variant_id": 1, "sku": "S", "quantity": 2, "title": "T"}]}  # fmt: skip

    response = webhook(harness, "/webhooks/orders-create", order, topic="orders/create", event="o1")

    assert (response.status_code, response.json()["status"]) == (200, "processed")  # type: ignore[attr-defined]
    assert row(harness, pid) == (10, 10)


def test_start_up_objects_are_kept_out_of_full_collections(tmp_path: Path) -> None:
    """While the app runs, what start-up built is frozen (the collector's full passes skip
    it); at shutdown it is handed back, so that an app stopped in a process leaves nothing
    behind."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'gc.db'}")

    clock = FakeClock()
    app = create_app(settings, builder=builder(FakeStoreClient(clock), clock), run_worker=False)
    with TestClient(app):
        frozen = gc.get_freeze_count()

    assert frozen > 10_000
    assert gc.get_freeze_count() == 0


def test_health_reports_ok(harness: Harness) -> None:
    """GET /health is 200 with the database, Shopify and product counts."""
    add_product(harness, ours=1, base=None, shopify=1)

    body = harness.client.get("/health").json()

    assert (body["status"], body["database"], body["shopify"]) == ("ok", "ok", "ok")
    assert body["products"]["total"] == 1 and body["products_with_errors"] == 0


def test_health_is_503_when_the_database_is_gone(harness: Harness) -> None:
    """With the database unreachable, /health answers 503."""
    from shopify_sync.adapters.db.engine import create_engine
    from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory

    broken = create_engine(UNREACHABLE)
    harness.container.uow = SqlUnitOfWorkFactory(broken)

    response = harness.client.get("/health")
    harness.client.portal.call(broken.dispose)  # type: ignore[union-attr]

    assert (response.status_code, response.json()["status"]) == (503, "unavailable")


def test_openapi_documents_the_endpoints(harness: Harness) -> None:
    """The OpenAPI document lists the seed's endpoints."""
    paths = harness.client.get("/openapi.json").json()["paths"]

    assert {"/sync/{product_id}", "/sync/all", "/webhooks/inventory-update",
            "/webhooks/orders-create", "/health"} <= set(paths)  # fmt: skip
