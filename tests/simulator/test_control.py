"""Point 5 and 6: control API, reset, save/load, catalogue generation, seed file, CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shopify_sync.simulator import ManualClock, SimulatorConfig
from shopify_sync.simulator.cli import simulator
from shopify_sync.simulator.sim import Simulator
from tests.simulator.harness import Shop, make_config, start_shop


def test_state_summary(shop: Shop) -> None:
    """GET /_simulator/state summarises the shop without a token."""
    body = shop.http.get("/_simulator/state", headers={"X-Shopify-Access-Token": ""}).json()

    assert body["counts"]["variants"] == 20
    assert body["graphql_bucket"]["capacity"] == 2000.0
    assert body["rest_bucket"]["capacity"] == 40.0


def test_levels_and_merchant_edits(shop: Shop) -> None:
    """Merchant set/adjust change available, are recorded as merchant history."""
    shop.http.post("/_simulator/merchant/set", json={"sku": "SKU-000002", "available": 10})
    edited = shop.http.post(
        "/_simulator/merchant/adjust", json={"sku": "SKU-000002", "delta": -3}
    ).json()

    levels = shop.http.get("/_simulator/levels", params={"sku": "SKU-000002"}).json()["levels"]
    history = shop.http.get("/_simulator/history", params={"sku": "SKU-000002"}).json()

    assert edited["level"]["available"] == 7
    assert [(lv["available"], lv["on_hand"]) for lv in levels] == [(7, 7)]
    assert [a["source"] for a in history["adjustments"]] == ["merchant", "merchant"]


def test_orders_from_control_api(shop: Shop) -> None:
    """POST /_simulator/orders places an order that claims stock, listed by GET."""
    before = shop.http.get("/_simulator/levels", params={"sku": "SKU-000004"}).json()["levels"][0]

    placed = shop.http.post(
        "/_simulator/orders", json={"line_items": [{"sku": "SKU-000004", "quantity": 1}]}
    )
    after = shop.http.get("/_simulator/levels", params={"sku": "SKU-000004"}).json()["levels"][0]
    listed = shop.http.get("/_simulator/orders").json()["orders"]

    assert placed.status_code == 201
    assert (after["available"], after["committed"]) == (before["available"] - 1, 1)
    assert [o["name"] for o in listed] == ["#1001"]


def test_unknown_sku_is_404(shop: Shop) -> None:
    """Control calls naming an unknown SKU answer 404 with a message."""
    response = shop.http.post("/_simulator/merchant/set", json={"sku": "NOPE", "available": 1})

    assert response.status_code == 404
    assert "NOPE" in response.json()["errors"]


def test_reset_restores_initial_catalogue(shop: Shop) -> None:
    """POST /_simulator/reset forgets orders, edits and subscriptions."""
    initial = shop.http.get("/_simulator/levels", params={"sku": "SKU-000001"}).json()
    shop.http.post("/_simulator/merchant/set", json={"sku": "SKU-000001", "available": 999})
    shop.http.post("/_simulator/orders", json={"line_items": [{"sku": "SKU-000002"}]})

    shop.http.post("/_simulator/reset")

    assert shop.http.get("/_simulator/levels", params={"sku": "SKU-000001"}).json() == initial
    assert shop.http.get("/_simulator/orders").json() == {"orders": []}


def test_export_and_import_state(shop: Shop) -> None:
    """An exported state loaded back restores the same levels."""
    shop.http.post("/_simulator/merchant/set", json={"sku": "SKU-000001", "available": 55})
    saved = shop.http.get("/_simulator/state/export").json()
    shop.http.post("/_simulator/merchant/set", json={"sku": "SKU-000001", "available": 1})

    loaded = shop.http.post("/_simulator/state/import", json=saved)

    level = shop.http.get("/_simulator/levels", params={"sku": "SKU-000001"}).json()["levels"][0]
    assert loaded.json() == {"loaded": True}
    assert level["available"] == 55


def test_state_file_survives_restart(tmp_path: Path, clock: ManualClock) -> None:
    """With a state file, a restarted simulator continues from the saved state."""
    state_file = tmp_path / "state.json"
    config = make_config(state_file=state_file)
    for shop in start_shop(config, clock):
        shop.http.post("/_simulator/merchant/set", json={"sku": "SKU-000003", "available": 321})

    for shop in start_shop(config, clock):
        level = shop.http.get("/_simulator/levels", params={"sku": "SKU-000003"}).json()["levels"]

        assert level[0]["available"] == 321


def test_clock_advance(shop: Shop) -> None:
    """POST /_simulator/clock/advance moves the simulator's time."""
    body = shop.http.post("/_simulator/clock/advance", json={"seconds": 3600}).json()

    assert body == {"now": "2026-05-01T15:00:00Z"}


def test_generated_catalogue_is_seeded_and_unique(clock: ManualClock) -> None:
    """Generated products have unique SKUs, exact-size ids and the same quantities per seed."""
    config = SimulatorConfig(products=5000, locations=2)

    first = Simulator(config, clock)
    second = Simulator(config, clock)

    assert len(first.store.sku_index) == 5000
    assert all(len(ids) == 1 for ids in first.store.sku_index.values())
    levels = [
        (lv.item_id, lv.available) for it in first.store.items.values() for lv in it.levels.values()
    ]
    again = [
        (lv.item_id, lv.available)
        for it in second.store.items.values()
        for lv in it.levels.values()
    ]
    assert levels == again
    assert len(levels) == 10_000
    assert min(first.store.items) > 2**53


def test_large_catalogue_is_generated_whole(clock: ManualClock) -> None:
    """20,000 generated products each get a variant with its own item, stocked at the location.

    How fast the simulator starts is printed by the benchmarks, not asserted here.
    """
    sim = Simulator(SimulatorConfig(products=20_000), clock)
    location = sim.store.primary_location()
    assert location is not None

    assert len(sim.store.variants) == 20_000
    items = {variant.inventory_item_id for variant in sim.store.variants.values()}
    assert len(items) == 20_000
    assert all(location.id in sim.store.items[item].levels for item in items)


def test_seed_file(tmp_path: Path, clock: ManualClock) -> None:
    """A seed file adds its locations, products and quantities."""
    seed = tmp_path / "catalogue.json"
    seed.write_text(
        json.dumps(
            {
                "locations": ["Main warehouse", "Shop floor"],
                "products": [
                    {
                        "title": "Mug",
                        "variants": [
                            {
                                "sku": "MUG-1",
                                "price": "9.00",
                                "quantities": {"Main warehouse": 4, "Shop floor": 1},
                            }
                        ],
                    }
                ],
            }
        )
    )
    for shop in start_shop(make_config(products=0, seed_file=seed), clock):
        levels = shop.http.get("/_simulator/levels", params={"sku": "MUG-1"}).json()["levels"]

        assert sorted(lv["available"] for lv in levels) == [1, 4]


def test_cli_rejects_unknown_plan() -> None:
    """The CLI command refuses a plan that does not exist."""
    import typer

    app = typer.Typer()
    app.command()(simulator)

    result = CliRunner().invoke(app, ["--plan", "gold"])

    assert result.exit_code != 0
    assert "plan must be one of" in result.output
