"""Fuzzing the webhook routes with bodies and headers around Shopify's real payloads.

Bodies start from the samples Shopify publishes (``tests/oracles/webhooks``), with fields
kept, replaced by values at and beyond every bound, of the wrong type, or dropped; headers
are genuine, missing or garbage; most deliveries are signed. Whatever comes, the app never
answers 5xx, and a delivery it refuses changes no row (a signed one adds its own
``failed`` record, nothing else).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from shopify_sync.adapters.db.tables import inventory_sync_log, product_inventory, webhook_events
from shopify_sync.adapters.shopify.webhooks import sign
from tests.fuzzing import fuzzed
from tests.integration.web.conftest import SECRET, Harness

ORACLES = Path(__file__).resolve().parents[2] / "oracles" / "webhooks" / "metadatas" / "2026-07"
ITEM = 271878346596884015
"""The sample's item (exact: the sample's JSON number is rounded, its GID is not)."""
VARIANT = 808950810

_ids = itertools.count()

BOUNDS = [
    0,
    1,
    -1,
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**20,
    2_000_000_000,
    2_000_000_001,
    -2_000_000_000,
    -2_000_000_001,
    ITEM,
]
INTS = st.one_of(
    st.sampled_from(BOUNDS), st.sampled_from(BOUNDS), st.integers(-5, 100),
    st.integers(-(2**80), 2**80),
)  # fmt: skip
TIMESTAMPS = st.one_of(
    st.sampled_from(["2021-12-31T19:00:00-05:00", "0001-01-01T00:00:00+01:00",
                     "9999-12-31T23:59:59-05:00", "2026-05-01T10:00:00", "2126-05-01T10:00:00Z",
                     "2026-05-01T12:00:00Z", "2026-05-01T10:00:00+23:59", "", "now"]),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"]),
    st.datetimes().map(lambda d: d.isoformat() + "+00:00"),
)  # fmt: skip
TEXTS = st.one_of(st.text(max_size=40), st.sampled_from(["A\x00B", "x" * 5000, "ü" * 300]))
SCALARS = st.one_of(st.none(), st.booleans(), INTS, st.floats(), TEXTS, TIMESTAMPS)
ANY_JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXTS, inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "inventory_item_id": INTS, "location_id": INTS, "available": st.one_of(st.none(), INTS),
    "updated_at": TIMESTAMPS, "id": INTS, "variant_id": st.one_of(st.none(), INTS),
    "quantity": INTS, "sku": st.one_of(st.none(), TEXTS), "title": TEXTS, "name": TEXTS,
    "test": st.one_of(st.booleans(), SCALARS),
}  # fmt: skip
HEADER_TEXT = st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=60).map(
    lambda s: s.encode("latin-1")
)


def sample(topic: str) -> dict[str, Any]:
    """Shopify's published example body of ``topic``."""
    data: dict[str, Any] = json.loads((ORACLES / f"{topic}.json").read_text())["response"]
    return data


LEVEL = sample("inventory_levels/update")
LEVEL["inventory_item_id"] = ITEM
ORDER = sample("orders/create")


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` with each field we read kept (mostly), replaced by a bounded-or-not value
    of its kind or by any JSON, or dropped; the others kept as they are; a few extra keys."""
    body: dict[str, Any] = {}
    for key, value in base.items():
        if key not in FIELDS and key != "line_items":  # not read: kept, and cheap to draw
            body[key] = value
            continue
        action = draw(st.sampled_from(["keep"] * 2 + ["typed"] * 4 + ["any", "drop"]))
        if action == "keep":
            body[key] = value
        elif action == "typed" and key in FIELDS:
            body[key] = draw(FIELDS[key])
        elif action == "typed":
            body[key] = value
        elif action == "any":
            body[key] = draw(ANY_JSON)
    body.update(draw(st.dictionaries(TEXTS, ANY_JSON, max_size=2)))
    return body


@st.composite
def level_bodies(draw: st.DrawFn) -> bytes:
    """An ``inventory_levels/update`` body near Shopify's, at our location half the time."""
    body = draw(mutated({**LEVEL, "location_id": draw(st.sampled_from([1, 1, 1, 24826418]))}))
    return json.dumps(body).encode()


@st.composite
def order_bodies(draw: st.DrawFn) -> bytes:
    """An ``orders/create`` body near Shopify's, its lines near the sample's too."""
    line = {**ORDER["line_items"][0], "variant_id": VARIANT}
    lines = draw(st.lists(mutated(line), max_size=3))
    body = draw(mutated({**ORDER, "line_items": lines}))
    return json.dumps(body).encode()


@st.composite
def deliveries(draw: st.DrawFn, topic: str) -> tuple[bytes, dict[str, bytes]]:
    """A body (rarely not JSON at all) and its headers: genuine, absent or garbage, signed
    with the right secret nine times in ten."""
    if draw(st.integers(0, 19)) == 0:
        body = draw(st.binary(max_size=200))
    else:
        body = draw(level_bodies() if topic.startswith("inventory") else order_bodies())
    n = next(_ids)
    genuine = {
        "X-Shopify-Topic": topic, "X-Shopify-Event-Id": f"fuzz-{n}",
        "X-Shopify-Webhook-Id": f"fuzz-w-{n}", "X-Shopify-Shop-Domain": "demo.myshopify.com",
        "X-Shopify-API-Version": "2026-07", "X-Shopify-Triggered-At": "2026-05-01T09:59:00Z",
    }  # fmt: skip
    headers: dict[str, bytes] = {"Content-Type": b"application/json"}
    for name, value in genuine.items():
        choice = draw(st.sampled_from(["genuine"] * 2 + ["absent", "garbage"]))
        if choice == "genuine":
            headers[name] = value.encode()
        elif choice == "garbage" and name == "X-Shopify-Triggered-At":
            headers[name] = draw(TIMESTAMPS.map(str.encode) | HEADER_TEXT)
        elif choice == "garbage":
            headers[name] = draw(HEADER_TEXT)
    if draw(st.integers(0, 9)) == 0:
        headers["X-Shopify-Hmac-Sha256"] = draw(HEADER_TEXT)
    else:
        headers["X-Shopify-Hmac-Sha256"] = sign(body, SECRET).encode()
    return body, headers


def snapshot(h: Harness) -> tuple[list[tuple[Any, ...]], int, list[tuple[Any, ...]]]:
    """Every product row, the log's length, and every recorded delivery."""

    async def read() -> tuple[list[tuple[Any, ...]], int, list[tuple[Any, ...]]]:
        async with h.container.uow.engine.connect() as c:  # type: ignore[attr-defined]
            products = [tuple(r) for r in await c.execute(select(product_inventory))]
            logged = (await c.execute(select(func.count()).select_from(inventory_sync_log))).one()
            events = [tuple(r) for r in await c.execute(select(webhook_events))]
        return products, int(logged[0]), events

    return h.client.portal.call(read)  # type: ignore[union-attr,no-any-return]


def link_sample_item(h: Harness) -> None:
    """A product linked to the samples' item and variant, synced, so deliveries apply."""

    async def add() -> None:
        async with h.container.uow.engine.begin() as c:  # type: ignore[attr-defined]
            await c.execute(
                insert(product_inventory).values(
                    product_id="fuzz-1",
                    sku="IPOD2008GREEN",
                    b2c_stock=10,
                    b2b_stock=5,
                    shopify_variant_id=str(VARIANT),
                    shopify_inventory_item_id=ITEM,
                    sync_enabled=True,
                    shopify_base=10,
                    allocation_policy="split",
                    pool_base=10,
                )
            )

    h.client.portal.call(add)  # type: ignore[union-attr]


def check(h: Harness, path: str, body: bytes, headers: dict[str, bytes]) -> None:
    """Send one delivery: never a 5xx; refused, it changes no row but its own record."""
    before = snapshot(h)

    response = h.client.post(path, content=body, headers=headers)

    assert response.status_code < 500, response.text
    if response.status_code == 200:
        return
    products, logged, events = snapshot(h)
    assert (products, logged) == before[:2], response.text
    added = [e for e in events if e not in before[2]]
    assert len(events) - len(before[2]) == len(added) <= 1
    assert all(e[7] == "failed" for e in added) and not (added and response.status_code == 401)


@fuzzed(examples=150)
@given(delivery=deliveries("inventory_levels/update"))
def test_inventory_webhook_never_fails_and_refusals_change_nothing(
    harness: Harness, delivery: tuple[bytes, dict[str, bytes]]
) -> None:
    """Generated inventory_levels/update deliveries never get a 5xx, and a refused one
    changes no row (a signed one is recorded as failed)."""
    if not snapshot(harness)[0]:
        link_sample_item(harness)

    check(harness, "/webhooks/inventory-update", *delivery)


@fuzzed(examples=100)
@given(delivery=deliveries("orders/create"))
def test_order_webhook_never_fails_and_refusals_change_nothing(
    harness: Harness, delivery: tuple[bytes, dict[str, bytes]]
) -> None:
    """Generated orders/create deliveries never get a 5xx, and a refused one changes no
    row (a signed one is recorded as failed)."""
    if not snapshot(harness)[0]:
        link_sample_item(harness)

    check(harness, "/webhooks/orders-create", *delivery)
