"""A wrong webhook secret is noticed from the deliveries it makes us refuse
(services.webhook_health), with counts every process shares and a bounded footprint."""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType

import pytest
from sqlalchemy import text

from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWork
from shopify_sync.domain.model import WebhookEvent
from shopify_sync.errors import StorageError
from shopify_sync.services import handlers, webhook_health
from shopify_sync.services.webhook_health import SIGNATURE, UNSIGNED, RefusalCounter
from tests.unit.services.conftest import World

pytestmark = pytest.mark.anyio


async def rows(world: World) -> list[tuple[object, ...]]:
    """The stored refusal counts: (reason, refused)."""
    async with world.uow.engine.connect() as c:
        found = await c.execute(
            text("SELECT reason, refused FROM webhook_refusals ORDER BY minute")
        )
        return [tuple(r) for r in found]


async def accept_one(world: World) -> None:
    """A delivery that passed its signature check, recorded as Shopify's webhooks are."""
    now = world.clock.now()
    async with world.uow() as unit:
        await unit.webhooks.record(
            WebhookEvent(f"evt-{now.timestamp()}", None, "orders/create", None, None, now, now,
                         "processed")
        )  # fmt: skip
        await unit.commit()


async def test_a_flood_of_refusals_costs_one_row_per_minute_and_few_writes(world: World) -> None:
    """A thousand refused deliveries within a second are one row, written once; the rest of
    the counts are written by the next flush."""
    counter = RefusalCounter(world.uow, world.clock)
    for _ in range(1000):
        await counter.refused(SIGNATURE)
    stored_first = await rows(world)
    await counter.flush()

    assert stored_first == [(SIGNATURE, 1)]
    assert await rows(world) == [(SIGNATURE, 1000)]


async def test_refusals_in_other_minutes_and_reasons_get_their_own_rows(world: World) -> None:
    """Each minute and reason is one row; counts written later add to it."""
    counter = RefusalCounter(world.uow, world.clock)
    await counter.refused(SIGNATURE)
    world.clock.advance(2)
    await counter.refused(SIGNATURE)
    await counter.refused(UNSIGNED)
    world.clock.advance(60)
    await counter.refused(SIGNATURE)
    await counter.flush()

    assert await rows(world) == [(SIGNATURE, 2), (UNSIGNED, 1), (SIGNATURE, 1)]


async def test_alarm_when_recent_deliveries_are_refused_and_none_accepted(world: World) -> None:
    """Three signature refusals and no accepted delivery since: the alarm names
    SHOPIFY_WEBHOOK_SECRET; unsigned requests never raise it."""
    counter = RefusalCounter(world.uow, world.clock)
    for _ in range(5):
        await counter.refused(UNSIGNED)
    await counter.refused(SIGNATURE)
    world.clock.advance(1)
    await counter.refused(SIGNATURE)
    world.clock.advance(1)
    quiet = await webhook_health.signature_alarm(world.uow, world.clock)
    await counter.refused(SIGNATURE)

    alarm = await webhook_health.signature_alarm(world.uow, world.clock)

    assert quiet is None
    assert alarm is not None
    assert alarm.startswith("3 webhook deliveries in the last hour were refused")
    assert "SHOPIFY_WEBHOOK_SECRET" in alarm


async def test_no_alarm_once_a_delivery_is_accepted_or_the_refusals_are_old(world: World) -> None:
    """A delivery accepted after the refusals, or an hour gone by, clears the alarm."""
    counter = RefusalCounter(world.uow, world.clock)
    for _ in range(3):
        await counter.refused(SIGNATURE)
        world.clock.advance(1)
    raised = await webhook_health.signature_alarm(world.uow, world.clock)
    world.clock.advance(60)
    await accept_one(world)
    accepted = await webhook_health.signature_alarm(world.uow, world.clock)
    world.clock.advance(3600)
    for _ in range(3):
        await counter.refused(SIGNATURE)
        world.clock.advance(1)
    world.clock.advance(3600)
    old = await webhook_health.signature_alarm(world.uow, world.clock)

    assert (raised is not None, accepted, old) == (True, None, None)


async def test_refusal_counts_are_pruned_with_the_webhook_events(world: World) -> None:
    """The prune of de-duplication records also forgets refusal counts that old."""
    counter = RefusalCounter(world.uow, world.clock)
    await counter.refused(SIGNATURE)
    world.clock.advance(8 * 86400)
    await counter.refused(SIGNATURE)

    await handlers.prune_webhook_events(world.uow, world.clock, timedelta(days=7))

    assert await rows(world) == [(SIGNATURE, 1)]


class DownOnce:
    """A unit of work whose database is unavailable the first time."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.failed = False

    def __call__(self) -> SqlUnitOfWork | DownOnce:
        if self.failed:
            return self.world.uow()
        return self

    async def __aenter__(self) -> SqlUnitOfWork:
        self.failed = True
        raise StorageError("database unavailable: connection refused")

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


async def test_counts_survive_a_database_outage_until_the_next_flush(world: World) -> None:
    """Counts that could not be written are kept and written by the next flush."""
    counter = RefusalCounter(DownOnce(world), world.clock)  # type: ignore[arg-type]
    await counter.refused(SIGNATURE)
    await counter.refused(SIGNATURE)
    await counter.flush()

    assert await rows(world) == [(SIGNATURE, 2)]
