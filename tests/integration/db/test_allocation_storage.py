"""Each product's allocation policy, buffer and cap, stored on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.domain.allocation import Allocation
from tests.factories import random_product_id

pytestmark = pytest.mark.anyio

DEFAULT = Allocation("split", 2, None)


async def _insert(
    engine: AsyncEngine, policy: str | None, buffer: int | None, cap: int | None
) -> str:
    pid = random_product_id()
    async with engine.begin() as c:
        await c.execute(
            text(
                "INSERT INTO product_inventory (product_id, b2b_stock, b2c_stock,"
                " allocation_policy, allocation_buffer, allocation_cap)"
                " VALUES (:p, 12, 3, :policy, :buffer, :cap)"
            ),
            {"p": pid, "policy": policy, "buffer": buffer, "cap": cap},
        )
    return pid


async def test_a_products_own_allocation_is_read_back(engine: AsyncEngine) -> None:
    """A product's stored policy, buffer and cap come back; one without follows the default."""
    own = await _insert(engine, "shared", 5, 50)
    plain = await _insert(engine, None, None, None)
    async with SqlUnitOfWorkFactory(engine)() as uow:
        products = {str(p.product_id): p for p in await uow.products.get_many([own, plain])}

    assert products[own].allocation(DEFAULT) == Allocation("shared", 5, 50)
    assert products[plain].allocation(DEFAULT) == DEFAULT


@pytest.mark.parametrize(
    ("policy", "buffer", "cap"), [("pooled", None, None), (None, -1, None), (None, None, -3)]
)
async def test_the_database_refuses_what_the_domain_refuses(
    engine: AsyncEngine, policy: str | None, buffer: int | None, cap: int | None
) -> None:
    """An unknown policy or a negative buffer or cap cannot be stored, whoever writes it."""
    with pytest.raises(IntegrityError):
        await _insert(engine, policy, buffer, cap)
