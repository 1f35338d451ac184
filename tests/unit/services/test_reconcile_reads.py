"""The reconcile reads Shopify for every product, also one whose pool moved within what its
cap or buffer hides (which the pending scan settles without a read, to save API calls):
the reconcile is what repairs a lost webhook."""

from __future__ import annotations

import pytest

from shopify_sync.domain.allocation import Allocation
from shopify_sync.domain.commands import ReconcileAll
from shopify_sync.services import handlers
from tests.unit.services.conftest import World

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("bulk_threshold", [10_000, 1], ids=["paged", "snapshot"])
async def test_a_reconcile_takes_a_lost_sale_of_a_product_whose_cap_hides_a_b2b_change(
    world: World, bulk_threshold: int
) -> None:
    """A Shopify sale whose webhook was lost is taken into the pool by the reconcile, paged
    or from a snapshot, even when a B2B change since the last agreement stays under the cap."""
    pid, item = await world.product(
        ours=20, base=None, shopify=0, allocation=Allocation("split", 0, 5)
    )
    async with world.uow() as unit:
        row = await unit.products.get(pid)
    assert row is not None
    await world.engine.sync([row], source="api:sync")
    assert (world.store.available(item), await world.row(pid)) == (5, (20, 5))
    world.store.sell(item, 2)  # its webhook never comes
    await world.set_b2c(pid, 21)  # published min(21, 5) = 5: still what Shopify was told

    await handlers.reconcile_all(
        ReconcileAll(), world.uow, world.engine, world.clock, bulk_threshold=bulk_threshold
    )

    assert (world.store.available(item), await world.row(pid)) == (5, (19, 5))
