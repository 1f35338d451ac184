"""The products' states a scrape reads: a database that does not answer in time counts as
unavailable instead of holding the scrape past Prometheus' timeout."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.services.monitoring import StatesReader
from tests.conftest import migrated_engine
from tests.fakes import FakeClock

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


async def test_a_database_that_does_not_answer_marks_the_states_unavailable(
    postgres_database_url: str,
) -> None:
    """With the product table locked by another transaction, the read gives up after its
    timeout and returns None (database figures unavailable); once the lock is gone, the
    next read after the cache interval answers again."""
    clock = FakeClock()
    async with migrated_engine(postgres_database_url) as engine:
        reader = StatesReader(SqlUnitOfWorkFactory(engine), clock, timeout_s=0.5)
        async with engine.connect() as locker:
            await locker.execute(text("LOCK TABLE product_inventory IN ACCESS EXCLUSIVE MODE"))
            blocked = await reader.read()
            await locker.rollback()
        clock.advance(10)
        answered = await reader.read()

    assert blocked is None
    assert answered is not None and sum(answered.counts.values()) == 0
