"""Randomized schedules through the real stack: the simulator and ``serve`` over HTTP.

The in-process interleaving test (tests/unit/services/test_interleaving.py) runs hundreds of
schedules against a fake Shopify; this one runs a few against the simulator, with its real
webhook deliveries (duplicated, held and released out of order, delayed, dropped), injected
429/5xx and lost answers, the service's own background loop racing the test's B2B writes,
products under random allocation policies (split or shared, buffers, caps) changed midway
by ``products allocate`` as its own process, and Shopify's real compare-and-set and
idempotency. SHOPIFY_SYNC_STACK_SCHEDULES sets how
many (default 3). The steps and the checks are tests/integration/service/schedules.py's.
"""

from __future__ import annotations

import os
import random

import pytest

from tests.integration.service.schedules import (
    ONE_SERVER,
    SKUS,
    check_invariants,
    link_products,
    play,
    settle,
)
from tests.integration.service.stack import running_stack

SCHEDULES = int(os.environ.get("SHOPIFY_SYNC_STACK_SCHEDULES", "3"))


@pytest.mark.parametrize("schedule", range(SCHEDULES))
def test_random_schedule_through_the_stack(database_url: str, schedule: int) -> None:
    """After random faults stop and one reconcile runs, Shopify shows what each product's
    policy publishes and every unit counts in the stocks and the audit trail (on SQLite, and
    on PostgreSQL, whose webhook batches write without locks first)."""
    rng = random.Random(7_000 + schedule)
    with running_stack(
        database_url, products=len(SKUS), PENDING_SCAN_INTERVAL_SECONDS="0.3"
    ) as stack:
        stack.subscribe_webhooks()
        products = link_products(stack, rng)
        events = play(stack, rng, products, ONE_SERVER)
        summaries = settle(stack, ONE_SERVER.settle_timeout_s)
        check_invariants(
            stack, products, f"schedule {schedule}: {'; '.join(events)}; reconciles {summaries}"
        )
