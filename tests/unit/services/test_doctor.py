"""`doctor`'s checks on a fake Shopify and a migrated SQLite database: each one passing, and
each one failing with what was found and what to do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from shopify_sync.domain.model import Location, SyncRun, WebhookSubscription
from shopify_sync.errors import StoreAuthFailed, StoreRejected, StoreUnavailable
from shopify_sync.services.doctor import Check, Doctor, DoctorReport
from shopify_sync.types import LocationId
from tests.unit.services.conftest import World, open_world
from tests.unit.services.shop_fakes import FakeShop

ADDRESS = "https://sync.example.com"
pytestmark = pytest.mark.anyio


@pytest.fixture(name="world")
async def _world(tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(tmp_path / "doctor.db", FakeShop) as world:
        yield world


def _subscriptions(address: str = ADDRESS) -> list[WebhookSubscription]:
    return [
        WebhookSubscription(
            "gid://1", "inventory_levels/update", f"{address}/webhooks/inventory-update"
        ),
        WebhookSubscription("gid://2", "orders/create", f"{address}/webhooks/orders-create"),
    ]


async def _healthy(world: World) -> Doctor:
    """Everything in order: subscriptions, a tracked stocked product, a recent reconcile."""
    world.store.subscriptions = {sub.id: sub for sub in _subscriptions()}  # type: ignore[attr-defined]
    await world.product(ours=5, base=5, shopify=5)
    async with world.uow() as unit:
        now = world.clock.now()
        await unit.runs.add(SyncRun("reconcile", now - timedelta(seconds=30), now, 1, 0, 0))
        await unit.commit()
    return _doctor(world)


def _doctor(world: World, **changes: object) -> Doctor:
    async def database_ok() -> str | None:
        return None

    values: dict[str, object] = {
        "store": world.store,
        "uow": world.uow,
        "clock": world.clock,
        "database_problem": database_ok,
        "credentials": "client credentials of app test",
        "api_version": "2026-10",
        "location_id": LocationId(1),
        "address": ADDRESS,
        "reconcile_interval_s": 300,
        **changes,
    }
    return Doctor(**values)  # type: ignore[arg-type]


def _by_name(report: DoctorReport) -> dict[str, Check]:
    return {check.name: check for check in report.checks}


async def test_everything_in_order_passes(world: World) -> None:
    """A healthy set-up passes every check, one per line, each line starting with ok."""
    report = await (await _healthy(world)).run()

    assert report.ok
    assert [c.name for c in report.checks] == [
        "credentials", "api_version", "scopes", "location", "webhooks", "database",
        "inventory_items", "product_errors", "last_reconcile",
    ]  # fmt: skip
    assert all(c.line().startswith("ok: ") for c in report.checks)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (StoreAuthFailed("Shopify refused the client credentials (invalid_client)"), "invalid"),
        (StoreRejected("AppAccess: HTTP 404", status=404), "refused the first call"),
        (StoreUnavailable("AppAccess: HTTP 503 from Shopify"), "did not answer"),
    ],
)
async def test_refused_credentials_fail_and_skip_the_shopify_checks(
    world: World, error: Exception, expected: str
) -> None:
    """Without an answer from Shopify the credentials fail; the Shopify checks are not run."""
    doctor = await _healthy(world)
    world.store.fail_next = [error]  # type: ignore[list-item]

    checks = _by_name(await doctor.run())

    assert not checks["credentials"].ok and expected in checks["credentials"].found
    assert " -> " in checks["credentials"].line()
    for name in ("api_version", "scopes", "location", "webhooks", "inventory_items"):
        assert checks[name].found == "not checked", name
    assert checks["database"].ok


async def test_an_unsupported_api_version_fails(world: World) -> None:
    """Shopify answering with another version than configured names the one to use."""
    doctor = await _healthy(world)
    world.store.api_version = "2026-01"

    check = _by_name(await doctor.run())["api_version"]

    assert not check.ok
    assert "set SHOPIFY_API_VERSION" in check.fix and "2026-01" in check.fix


async def test_missing_scopes_fail_and_a_write_scope_grants_the_read(world: World) -> None:
    """Scopes lacking read_orders fail naming it; write_inventory stands for read_inventory."""
    doctor = await _healthy(world)
    world.store.scopes = ("write_inventory", "read_products")

    check = _by_name(await doctor.run())["scopes"]

    assert not check.ok
    assert check.found.startswith("the app lacks the scopes read_orders (granted:")


@pytest.mark.parametrize(
    ("locations", "location_id", "expected"),
    [
        ([], LocationId(1), "no location with id 1"),
        ([Location(LocationId(1), "Old shop", False)], LocationId(1), "inactive"),
        ([], None, "SHOPIFY_LOCATION_ID is not set"),
    ],
)
async def test_a_wrong_location_fails(
    world: World, locations: list[Location], location_id: LocationId | None, expected: str
) -> None:
    """A missing, inactive or unset location fails and points at `shopify-sync locations`."""
    await _healthy(world)
    world.store.shop_locations = locations

    check = _by_name(await _doctor(world, location_id=location_id).run())["location"]

    assert not check.ok and expected in check.found
    assert "shopify-sync locations" in check.fix


async def test_webhooks_pointing_elsewhere_or_missing_fail(world: World) -> None:
    """A subscription at an old address and a missing one fail with the repair command."""
    await _healthy(world)
    old = _subscriptions("https://old.example.com")[0]
    world.store.subscriptions = {old.id: old}  # type: ignore[attr-defined]

    check = _by_name(await _doctor(world).run())["webhooks"]

    assert not check.ok
    assert "missing orders/create" in check.found
    assert "inventory_levels/update delivers to https://old.example.com" in check.found
    assert check.fix == "run `shopify-sync webhooks check --repair`"


async def test_webhooks_without_an_address_fail(world: World) -> None:
    """Without PUBLIC_URL the subscriptions cannot be checked: set it."""
    check = _by_name(await _doctor(world, address=None).run())["webhooks"]

    assert not check.ok and "PUBLIC_URL" in check.fix


async def test_a_database_behind_fails_and_skips_the_product_checks(world: World) -> None:
    """A database not migrated says to upgrade it; the checks that read it are not run."""
    await _healthy(world)

    async def behind() -> str:
        return "database at migration 0003, this version needs 0005: run `shopify-sync db upgrade`"

    checks = _by_name(await _doctor(world, database_problem=behind).run())

    assert checks["database"].line() == (
        "fail: database at migration 0003, this version needs 0005 -> run `shopify-sync db upgrade`"
    )
    assert [checks[n].found for n in ("inventory_items", "product_errors", "last_reconcile")] == [
        "not checked"
    ] * 3


async def test_untracked_unstocked_and_unknown_items_fail_with_counts_and_ids(
    world: World,
) -> None:
    """Linked products whose item is untracked, not stocked or gone are counted and named."""
    await _healthy(world)
    untracked, item = await world.product(ours=1, base=1, shopify=1)
    world.store.items[item].tracked = False  # type: ignore[index]
    unstocked, _ = await world.product(ours=1, base=1, shopify=None, variant=3)
    gone, gone_item = await world.product(ours=1, base=1, shopify=1)
    del world.store.items[gone_item]  # type: ignore[arg-type]

    check = _by_name(await _doctor(world).run())["inventory_items"]

    assert not check.ok
    assert (
        f"1 linked products whose item Shopify does not track (first: {untracked})" in check.found
    )
    assert f"1 not stocked at location 1 (first: {unstocked})" in check.found
    assert f"1 linked to an item Shopify does not have (first: {gone})" in check.found


async def test_large_catalogues_read_items_in_bulk(world: World) -> None:
    """From bulk_from linked products on, the items come from one snapshot, not page reads."""
    await _healthy(world)
    for _ in range(3):
        await world.product(ours=1, base=1, shopify=1)
    reads_before = world.store.reads

    check = _by_name(await _doctor(world, bulk_from=2).run())["inventory_items"]

    assert check.ok and check.found.startswith("all 4 linked products")
    assert world.store.reads == reads_before


async def test_products_in_error_and_parked_fail(world: World) -> None:
    """Products with a sync error or parked are counted, the first named, with what to run."""
    await _healthy(world)
    pid, _ = await world.product(ours=1, base=1, shopify=1)
    async with world.uow.engine.begin() as c:
        await c.execute(
            text(
                "UPDATE product_inventory SET sync_error = 'x', parked_at = :t"
                " WHERE product_id = :p"
            ),
            {"t": world.clock.now(), "p": pid},
        )

    check = _by_name(await _doctor(world).run())["product_errors"]

    assert not check.ok
    assert check.found == f"0 products with a sync error, 1 parked (first: {pid})"
    assert "shopify-sync retry --parked" in check.fix


async def test_no_or_an_old_reconcile_fails(world: World) -> None:
    """No reconcile yet, or one older than three intervals, fails; a recent one passes."""
    none_yet = _by_name(await _doctor(world).run())["last_reconcile"]
    await _healthy(world)
    world.clock.advance(16 * 60)
    stale = _by_name(await _doctor(world).run())["last_reconcile"]

    assert not none_yet.ok and "sync --all" in none_yet.fix
    assert not stale.ok and stale.found.startswith(
        "the last successful reconcile finished 16 min ago"
    )


async def test_shopify_failing_after_the_credentials_fails_each_check_with_try_again(
    world: World,
) -> None:
    """Location, subscriptions and items that cannot be read fail with what happened."""
    doctor = await _healthy(world)

    async def down(*_: object) -> None:
        raise StoreUnavailable("HTTP 503 from Shopify")

    world.store.location = down  # type: ignore[method-assign,assignment]  # a failure only
    world.store.webhook_subscriptions = down  # type: ignore[method-assign,assignment]
    world.store.read_levels = down  # type: ignore[method-assign,assignment]

    checks = _by_name(await doctor.run())

    for name, what in (
        ("location", "could not read the location"),
        ("webhooks", "could not read the subscriptions"),
        ("inventory_items", "could not read the items"),
    ):
        assert not checks[name].ok and checks[name].found.startswith(what), name
        assert checks[name].fix == "try again"


async def test_a_malformed_address_fails_the_webhooks_check(world: World) -> None:
    """An address Shopify cannot deliver to is reported with the setting to fix."""
    check = _by_name(await _doctor(world, address="ftp://sync.example.com").run())["webhooks"]

    assert not check.ok and check.fix == "fix PUBLIC_URL (or --address)"


@pytest.mark.parametrize(("hours", "shown"), [(5, "5 h"), (72, "3 days")])
async def test_reconcile_age_is_shown_in_hours_or_days(
    world: World, hours: int, shown: str
) -> None:
    """An old reconcile's age reads in hours, or days past two days."""
    await _healthy(world)
    world.clock.advance(hours * 3600)

    check = _by_name(await _doctor(world).run())["last_reconcile"]

    assert check.found.startswith(f"the last successful reconcile finished {shown} ago")
