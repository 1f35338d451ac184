"""ShopifyClient against the local Shopify simulator over real HTTP."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.domain.commands import AutoLink
from shopify_sync.domain.model import (
    Location,
    QuantityWrite,
    SetQuantities,
    WebhookSubscription,
    WriteErrorKind,
)
from shopify_sync.errors import OutcomeUnknown, StoreAuthFailed, StoreUnavailable
from shopify_sync.services import linking
from shopify_sync.simulator import ManualClock, SimulatorConfig
from shopify_sync.simulator.testing import run_in_thread
from shopify_sync.types import InventoryItemId, LocationId, VariantId
from tests.conftest import migrated_engine
from tests.integration.shopify.shopify_sim_harness import PRODUCTS, TOKEN, SimShop

pytestmark = pytest.mark.anyio

VERSIONS = ("2025-10", "2026-01", "2026-04", "2026-07", "2026-10")
UNSTOCKED_CATALOGUE = {
    "locations": ["Main warehouse", "Overflow"],
    "products": [{"title": "Lamp", "variants": [{"sku": "LAMP-1", "quantities": {"Overflow": 4}}]}],
}
"""One item stocked only at the second location: not at ours (the first)."""


def write_of(*entries: tuple[int, int, int]) -> SetQuantities:
    """A write with a fresh key; entries are (item, quantity, expected)."""
    return SetQuantities(
        idempotency_key=str(uuid.uuid4()),
        reference_document_uri=f"gid://b2b-sync/SyncLog/{uuid.uuid4().hex[:8]}",
        entries=tuple(QuantityWrite(InventoryItemId(i), q, e) for i, q, e in entries),
    )


async def test_read_levels_match_the_shop(shop: SimShop) -> None:
    """Every item reads as the shop holds it at our location; an unknown id reads as unknown."""
    location = await shop.location()
    held = await shop.levels(location)
    unknown = InventoryItemId(999_999_999)

    async with shop.client() as (client, _):
        levels = await client.read_levels([*map(InventoryItemId, held), unknown])

    assert {item: level.available for item, level in levels.items() if level.known} == held
    assert all(level.updated_at is not None for item, level in levels.items() if level.known)
    assert not levels[unknown].known


@pytest.mark.parametrize("version", VERSIONS)
async def test_write_applies_and_reads_back(shop: SimShop, version: str) -> None:
    """A CAS write with the right expected values is applied in every supported version."""
    location = await shop.location()
    held = await shop.levels(location)
    first, second = list(held)[:2]
    write = write_of((first, held[first] + 5, held[first]), (second, 0, held[second]))

    async with shop.client(version) as (client, _):
        result = await client.set_quantities(write)
        levels = await client.read_levels([InventoryItemId(first), InventoryItemId(second)])

    assert result.applied
    assert result.adjustment_group_id is not None
    assert result.applied_at is not None
    assert levels[InventoryItemId(first)].available == held[first] + 5
    assert levels[InventoryItemId(second)].available == 0


@pytest.mark.parametrize("version", ["2025-10", "2026-04"])
async def test_stale_expected_value_is_refused_for_that_item(shop: SimShop, version: str) -> None:
    """After a merchant edit, a write expecting the old value is STALE for that item only."""
    location = await shop.location()
    held = await shop.levels(location)
    item = next(iter(held))
    await shop.control("POST", "/merchant/set", {"inventory_item_id": item, "available": 42})

    async with shop.client(version) as (client, _):
        result = await client.set_quantities(write_of((item, held[item] + 1, held[item])))

    assert not result.applied
    assert [(e.kind, e.inventory_item_id) for e in result.errors] == [(WriteErrorKind.STALE, item)]
    assert (await shop.levels(location))[item] == 42


async def test_unknown_item_is_a_permanent_error(shop: SimShop) -> None:
    """Writing an inventory item the shop does not have is a PERMANENT error."""
    async with shop.client() as (client, _):
        result = await client.set_quantities(write_of((999_999_999, 1, 0)))

    assert not result.applied
    assert [e.kind for e in result.errors] == [WriteErrorKind.PERMANENT]


async def test_resending_the_same_write_replays_the_first_answer(shop: SimShop) -> None:
    """The same SetQuantities sent twice gets the same adjustment group: applied once."""
    location = await shop.location()
    held = await shop.levels(location)
    item = next(iter(held))
    write = write_of((item, held[item] + 3, held[item]))

    async with shop.client() as (client, _):
        first = await client.set_quantities(write)
        again = await client.set_quantities(write)

    assert first.applied
    assert again == first
    assert (await shop.levels(location))[item] == held[item] + 3


@pytest.mark.parametrize(("status", "timeout_s"), [(502, 5.0), (504, 0.2)])
async def test_a_lost_answer_is_resent_with_the_same_key(
    shop: SimShop, status: int, timeout_s: float
) -> None:
    """Applied but answered 502 or not in time: the client resends and Shopify replays it once."""
    location = await shop.location()
    held = await shop.levels(location)
    item = next(iter(held))
    write = write_of((item, held[item] + 7, held[item]))
    fault = {"mode": "lose_response", "status": status, "match": "SetAvailable", "count": 1}
    await shop.control("POST", "/faults/api", fault)

    async with shop.client(timeout_s=timeout_s) as (client, _):
        with capture_logs() as logs:
            result = await client.set_quantities(write)

    assert result.applied
    assert (await shop.levels(location))[item] == held[item] + 7
    history = await shop.control("GET", f"/history?inventory_item_id={item}")
    ours = [
        row
        for row in history["adjustments"]
        if row.get("reference_document_uri") == write.reference_document_uri
    ]
    assert len(ours) == 1
    assert [e["event"] for e in logs].count("shopify_request_retried") == 1


async def test_no_answer_at_all_is_outcome_unknown_until_resent(shop: SimShop) -> None:
    """Only 503s raise OutcomeUnknown and pause every call (nothing is sent meanwhile);
    resending the same write after the pause applies it."""
    location = await shop.location()
    held = await shop.levels(location)
    item = next(iter(held))
    write = write_of((item, held[item] + 2, held[item]))
    await shop.control("POST", "/faults/api", {"mode": "status", "status": 503, "count": 3})

    async with shop.client(max_attempts=3, outage_pause_s=15) as (client, clock):
        with pytest.raises(OutcomeUnknown):
            await client.set_quantities(write)
        with pytest.raises(StoreUnavailable, match="calls to Shopify paused since"):
            await client.set_quantities(write)
        assert (await shop.levels(location))[item] == held[item]
        await clock.sleep(15)
        result = await client.set_quantities(write)

    assert result.applied
    assert (await shop.levels(location))[item] == held[item] + 2


async def test_throttled_reads_wait_for_the_bucket_and_succeed(shop: SimShop) -> None:
    """With the shop's bucket drained, a read is THROTTLED, waits on the clock, then succeeds."""
    location = await shop.location()
    held = await shop.levels(location)
    await shop.control("POST", "/throttle", {"graphql_available": 0})

    async with shop.client() as (client, clock):
        with capture_logs() as logs:
            levels = await client.read_levels(list(map(InventoryItemId, held)))

    assert {item: level.available for item, level in levels.items()} == held
    reasons = [e["reason"] for e in logs if e["event"] == "shopify_request_retried"]
    assert reasons == ["throttled"]
    assert clock.sleeps and clock.sleeps[0] > 0


async def test_pacing_waits_before_a_call_that_would_be_throttled(shop: SimShop) -> None:
    """Once the shop reports a low bucket, the next large read waits first instead of failing."""
    location = await shop.location()
    held = await shop.levels(location)
    items = list(map(InventoryItemId, held))

    async with shop.client() as (client, clock):
        await client.read_levels(items[:1])
        await shop.control("POST", "/throttle", {"graphql_available": 1})
        await client.read_levels(items[:1])
        waits_before = len(clock.sleeps)
        with capture_logs() as logs:
            await client.read_levels(items)

    events = [e["event"] for e in logs]
    assert events == ["shopify_request_paced"]
    assert len(clock.sleeps) == waits_before + 1


async def test_bulk_snapshot_streams_every_level(shop: SimShop) -> None:
    """One bulk operation yields every inventory item with its level at our location."""
    location = await shop.location()
    held = await shop.levels(location)

    async with shop.client() as (client, _):
        levels = [level async for level in client.snapshot_levels()]

    assert {level.inventory_item_id: level.available for level in levels} == held
    assert len(levels) == PRODUCTS


@pytest.mark.parametrize("version", ["2025-10", "2026-04"])
async def test_webhook_subscriptions_can_be_created_listed_and_deleted(
    shop: SimShop, version: str
) -> None:
    """A created subscription is listed with its REST topic and uri, and gone once deleted."""
    uri = "https://sync.example.com/webhooks/inventory-update"

    async with shop.client(version) as (client, _):
        created = await client.create_webhook_subscription("inventory_levels/update", uri)
        listed = await client.webhook_subscriptions()
        await client.delete_webhook_subscription(created.id)
        after = await client.webhook_subscriptions()

    assert created == WebhookSubscription(created.id, "inventory_levels/update", uri)
    assert listed == [created]
    assert after == []


async def test_locations_list_the_shop(shop: SimShop) -> None:
    """Both locations of the shop are listed, the primary one first."""
    state = await shop.control("GET", "/state")

    async with shop.client() as (client, _):
        locations = await client.locations()

    assert [(loc.id, loc.name) for loc in locations] == [
        (row["id"], row["name"]) for row in state["locations"]
    ]


async def test_find_variants_and_resolve_inventory_items(shop: SimShop) -> None:
    """A SKU search finds the variant, and its id resolves to the same inventory item."""
    rows = (await shop.control("GET", "/levels?sku=SKU-000002"))["levels"]

    async with shop.client() as (client, _):
        found = await client.find_variants("sku:SKU-000002")
        resolved = await client.resolve_inventory_items([found[0].id, VariantId(999_999_999)])

    assert [(v.sku, v.inventory_item_id) for v in found] == [
        ("SKU-000002", rows[0]["inventory_item_id"])
    ]
    assert resolved == {found[0].id: rows[0]["inventory_item_id"]}


async def test_search_by_product_title_finds_its_variant(shop: SimShop) -> None:
    """Words of a product's title find its variant (the SKU and variant title do not have them)."""
    async with shop.client() as (client, _):
        found = await linking.search_variants(client, "product 000002")

    assert [v.sku for v in found] == ["SKU-000002"]


async def test_location_by_id(shop: SimShop) -> None:
    """One location reads by id with its name and state; an unknown id reads as None."""
    state = await shop.control("GET", "/state")
    first = state["locations"][0]

    async with shop.client() as (client, _):
        found = await client.location(LocationId(first["id"]))
        missing = await client.location(LocationId(999_999_999))

    assert (found, missing) == (Location(LocationId(first["id"]), first["name"], True), None)


async def test_a_wrong_token_is_rejected(shop: SimShop) -> None:
    """The shop answers 401 to a wrong token: StoreAuthFailed naming the variable, not the token."""
    async with shop.client(token="shpat_wrong") as (client, _):
        with pytest.raises(StoreAuthFailed) as caught:
            await client.locations()

    assert "SHOPIFY_ACCESS_TOKEN" in str(caught.value)
    assert "shpat_wrong" not in str(caught.value)


@pytest.mark.parametrize("version", ["2025-10", "2026-10"])
async def test_bulk_variants_stream_every_variant(shop: SimShop, version: str) -> None:
    """One bulk operation yields every variant with its SKU and inventory item, in any version."""
    rows = (await shop.control("GET", "/levels?limit=1000"))["levels"]
    held = {(r["variant_id"], r["inventory_item_id"], r["sku"]) for r in rows}

    async with shop.client(version) as (client, _):
        variants = [v async for v in client.catalogue_variants()]

    assert {(v.id, v.inventory_item_id, v.sku) for v in variants} == held
    assert len(variants) == PRODUCTS and all(v.tracked for v in variants)


async def test_auto_link_in_bulk_links_our_products_to_the_simulator(
    shop: SimShop, tmp_path: Path
) -> None:
    """Auto-linking through the bulk read links each product to the variant with its SKU."""
    rows = (await shop.control("GET", "/levels?limit=1000"))["levels"]
    items = {r["sku"]: r["inventory_item_id"] for r in rows}
    async with migrated_engine(f"sqlite+aiosqlite:///{tmp_path / 'link.db'}") as engine:
        async with engine.begin() as c:
            await c.execute(
                text("INSERT INTO product_inventory (product_id, sku) VALUES (:p, :s)"),
                [{"p": f"p{n}", "s": sku.lower()} for n, sku in enumerate(sorted(items))]
                + [{"p": "p-none", "s": "NOWHERE-1"}],
            )
        uow = SqlUnitOfWorkFactory(engine)
        async with shop.client("2026-10") as (client, clock):
            report = await linking.auto_link(AutoLink(), uow, client, clock, bulk_from=1)
        async with engine.connect() as c:
            linked: dict[str, int | None] = dict(
                (
                    await c.execute(
                        text("SELECT sku, shopify_inventory_item_id FROM product_inventory")
                    )
                ).all()
            )

    assert (report.linked, [i.product_id for i in report.of("unmatched")]) == (PRODUCTS, ["p-none"])
    assert linked == {**{sku.lower(): item for sku, item in items.items()}, "NOWHERE-1": None}


@pytest.mark.parametrize(
    ("version", "read", "written"),
    [("2026-07", None, "ITEM_NOT_STOCKED_AT_LOCATION"), ("2026-10", 0, None)],
)
async def test_an_item_not_stocked_at_our_location_is_set_there_from_2026_10(
    tmp_path: Path, version: str, read: int | None, written: str | None
) -> None:
    """Up to 2026-07 an item not stocked at our location reads as not stocked and its write
    is refused; from 2026-10 it reads as 0 available and the write stocks it there."""
    seed = tmp_path / "catalogue.json"
    seed.write_text(json.dumps(UNSTOCKED_CATALOGUE), encoding="utf-8")
    config = SimulatorConfig(access_token=TOKEN, seed_file=seed)
    with run_in_thread(config, clock=ManualClock()) as url:
        shop = SimShop(url, ManualClock())
        row = (await shop.control("GET", "/levels?sku=LAMP-1"))["levels"][0]
        item = InventoryItemId(row["inventory_item_id"])
        async with shop.client(version) as (client, _):
            level = (await client.read_levels([item]))[item]
            result = await client.set_quantities(write_of((item, 7, 0)))
        held = await shop.levels(await shop.location())

    assert level.available == read
    assert [e.code for e in result.errors] == ([written] if written else [])
    assert held.get(item) == (None if written else 7)


@pytest.mark.parametrize("version", VERSIONS)
async def test_no_request_draws_shopifys_deprecation_header(shop: SimShop, version: str) -> None:
    """Against the simulator, which flags deprecated usage the way Shopify does (the
    X-Shopify-API-Deprecated-Reason header, logged by the client), no call of any version is
    flagged: bulk reads, levels, writes, searches, locations and webhook subscriptions."""
    location = await shop.location()
    held = await shop.levels(location)
    item = next(iter(held))

    with capture_logs() as logs:
        async with shop.client(version) as (client, _):
            _ = [level async for level in client.snapshot_levels()]
            _ = [variant async for variant in client.catalogue_variants()]
            await client.read_levels([InventoryItemId(item)])
            await client.set_quantities(write_of((item, held[item] + 1, held[item])))
            await client.find_variants("sku:SKU-000001", limit=5)
            await client.locations()
            created = await client.create_webhook_subscription(
                "orders/create", "https://sync.example.com/webhooks/orders-create"
            )
            await client.webhook_subscriptions()
            await client.delete_webhook_subscription(created.id)

    assert [e for e in logs if e["event"] == "shopify_deprecated_usage"] == []


async def test_a_deprecated_request_draws_the_header(shop: SimShop) -> None:
    """The check above can fail: currentBulkOperation, sent as the client sends, is flagged."""
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{shop.base_url}/admin/api/2026-10/graphql.json",
            json={"query": "query Old { currentBulkOperation { id } }"},
            headers={"X-Shopify-Access-Token": TOKEN},
        )

    assert (response.status_code, "X-Shopify-API-Deprecated-Reason" in response.headers) == (
        200, True,
    )  # fmt: skip
