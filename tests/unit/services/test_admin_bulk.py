"""Operators act on several products at once: enable, disable, retry (services.admin)."""

from __future__ import annotations

import pytest

from shopify_sync.domain.commands import RetryProducts, SetSyncEnabledMany
from shopify_sync.errors import InvalidRequest, UnknownProduct
from shopify_sync.services import admin
from shopify_sync.services.admin import ProductFilter
from shopify_sync.types import ProductId
from tests.fakes import unavailable
from tests.unit.services.admin_data import add_product, log_of, product
from tests.unit.services.conftest import World
from tests.unit.services.shop_fakes import _shop_world, shop  # noqa: F401  (a fixture)

pytestmark = pytest.mark.anyio


async def linked(world: World, *, b2c: int = 10, enabled: bool = True) -> str:
    """A product linked to a fresh variant stocked at 10, agreed at 10."""
    variant = shop(world).add_variant(None, 10)
    return await add_product(
        world, b2c=b2c, variant=variant.id, item=variant.inventory_item_id, base=10,
        enabled=enabled,
    )  # fmt: skip


def ids(*pids: str) -> tuple[ProductId, ...]:
    """Product ids, typed."""
    return tuple(ProductId(p) for p in pids)


async def test_enable_many_turns_each_on_logs_it_and_syncs_the_linked(shop_world: World) -> None:
    """Several products are turned on at once, each logged; the linked ones sync now; one
    already on is reported as such."""
    a = await linked(shop_world, b2c=12, enabled=False)
    b = await linked(shop_world, enabled=False)
    loose = await add_product(shop_world, sku="LOOSE-1", enabled=False)
    on = await linked(shop_world)

    change = await admin.set_sync_enabled_many(
        SetSyncEnabledMany(ids(a, b, loose, on, a), True), shop_world.uow, shop_world.engine,
        shop_world.clock,
    )  # fmt: skip

    assert (set(change.changed), change.unchanged) == ({a, b, loose}, (on,))
    assert {r.product_id: r.action for r in change.results} == {a: "pushed", b: "in_sync"}
    assert all([(await product(shop_world, p)).sync_enabled for p in (a, b, loose)])
    assert [e.detail for e in await log_of(shop_world, loose)][-1:] == ["sync enabled"]


async def test_enable_many_with_an_unknown_id_changes_nothing(shop_world: World) -> None:
    """One unknown id refuses the whole request before anything is changed."""
    a = await linked(shop_world, enabled=False)

    with pytest.raises(UnknownProduct):
        await admin.set_sync_enabled_many(
            SetSyncEnabledMany(ids(a, "ghost"), True), shop_world.uow, shop_world.engine,
            shop_world.clock,
        )  # fmt: skip

    assert not (await product(shop_world, a)).sync_enabled


async def test_selected_ids_are_the_named_or_the_filtered_products(shop_world: World) -> None:
    """Ids are checked to exist; a filter picks every product that matches it."""
    a = await linked(shop_world)
    loose = await add_product(shop_world, sku="LOOSE-1")

    named = await admin.selected_ids(shop_world.uow, [loose, a], None)
    unlinked = await admin.selected_ids(shop_world.uow, [], ProductFilter(unlinked=True))
    every = await admin.selected_ids(shop_world.uow, [], ProductFilter())

    assert (named, unlinked, sorted(every)) == ([loose, a], [loose], sorted([a, loose]))


async def test_retry_errors_retries_every_product_in_error_parked_or_not(
    shop_world: World,
) -> None:
    """`errors` retries products waiting for a retry as well as parked ones, and no other."""
    waiting = await linked(shop_world, b2c=12)
    shop(shop_world).fail_next.append(unavailable())
    await shop_world.engine.sync([await product(shop_world, waiting)], source="test")
    parked = await add_product(shop_world, variant=1, item=404, base=1)
    await shop_world.engine.sync([await product(shop_world, parked)], source="test")
    fine = await linked(shop_world)

    report = await admin.retry(
        RetryProducts(errors=True, push=False), shop_world.uow, shop_world.engine,
        shop_world.clock,
    )  # fmt: skip

    assert sorted(report.retried) == sorted([waiting, parked])
    for pid in (waiting, parked):
        p = await product(shop_world, pid)
        assert (p.sync_error, p.parked_at, p.refresh_requested) == (None, None, True)
    assert not (await product(shop_world, fine)).refresh_requested


async def test_retry_several_named_products_or_refuse_an_empty_request(
    shop_world: World,
) -> None:
    """Several named products are retried together; naming nothing is refused."""
    a, b = await linked(shop_world, b2c=11), await linked(shop_world, b2c=9)

    report = await admin.retry(
        RetryProducts(product_ids=ids(a, b)), shop_world.uow, shop_world.engine, shop_world.clock
    )
    with pytest.raises(InvalidRequest):
        await admin.retry(RetryProducts(), shop_world.uow, shop_world.engine, shop_world.clock)

    assert report.retried == (a, b)
    assert sorted(r.action for r in report.results) == ["pushed", "pushed"]
