"""Refused credentials during a sync: recorded like any Shopify failure (error, backoff, not
parked), the write in flight kept and later resent under its key, nothing written twice."""

from __future__ import annotations

import pytest

from shopify_sync.errors import StoreAuthFailed
from shopify_sync.services import handlers
from tests.unit.services.conftest import World
from tests.unit.services.test_engine import sync

pytestmark = pytest.mark.anyio

REFUSED = StoreAuthFailed(
    "Shopify refused the client credentials for demo.myshopify.com (invalid_client): "
    "check SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET",
    code="invalid_client",
)


async def test_refused_credentials_are_recorded_with_backoff(world: World) -> None:
    """A refused exchange on the read fails the product with the message and a next try."""
    pid, _ = await world.product(ours=15, base=10, shopify=10)
    world.store.fail_next = [REFUSED]

    result = await sync(world, pid)
    async with world.uow() as unit:
        product = await unit.products.get(pid)

    assert result.action == "failed"
    assert product is not None
    assert "invalid_client" in (product.sync_error or "")
    assert product.next_attempt_at is not None and product.parked_at is None


async def test_a_write_in_flight_survives_refused_credentials_and_lands_once(
    world: World,
) -> None:
    """The answer to our write is lost, its resend meets refused credentials: the write stays
    stored; once the credentials work its resend replays the first answer; nothing doubles."""
    pid, item = await world.product(ours=15, base=10, shopify=9)
    world.store.lose_next_response = 1
    await sync(world, pid)
    world.store.fail_next = [REFUSED]
    world.clock.advance(10)

    await handlers.push_pending(world.uow, world.engine, world.clock)
    async with world.uow() as unit:
        kept = await unit.writes.keys()
        refused = await unit.products.get(pid)
    world.clock.advance(60)
    await handlers.push_pending(world.uow, world.engine, world.clock)

    assert len(kept) == 1
    assert refused is not None and "push to Shopify failed" in (refused.sync_error or "")
    assert "invalid_client" in (refused.sync_error or "")
    assert world.store.writes[0] == world.store.writes[-1]
    assert (world.store.available(item), await world.row(pid)) == (14, (14, 14))
    assert await world.b2c_ledger(pid) == 14
