"""Alert checks through their ports: each start and clearing notified once across
processes, a failed delivery retried at the next check, nothing raised into the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from shopify_sync.domain.alerts import Thresholds, Transition
from shopify_sync.domain.model import SyncFailure, WebhookSubscription
from shopify_sync.errors import AlertDeliveryFailed, StoreAuthFailed, StoreRejected
from shopify_sync.services.alerts import Watch, check_alerts, send_test
from shopify_sync.services.ports import AlertSender
from shopify_sync.types import ProductId
from tests.fakes import FakeClock, unavailable
from tests.unit.services.conftest import World

pytestmark = pytest.mark.anyio
TTL = timedelta(minutes=2)


@dataclass
class FakeAlertSender:
    """Records what it delivered to each of its channels; ``fail`` makes the next sends
    fail (to the ``failing`` channel only, when set)."""

    delivered: list[tuple[str, Transition]] = field(default_factory=list)
    fail: int = 0
    names: tuple[str, ...] = ("fake",)
    failing: str | None = None
    clock: FakeClock | None = None
    takes_s: float = 0.0
    """How long each delivery takes on ``clock`` (a slow receiver)."""

    @property
    def channels(self) -> tuple[str, ...]:
        return self.names

    @property
    def sent(self) -> list[Transition]:
        return [t for _, t in self.delivered]

    async def send(self, transition: Transition, now: datetime, channel: str | None = None) -> None:
        for name in self.names if channel is None else (channel,):
            if self.fail and self.failing in (None, name):
                self.fail -= 1
                raise AlertDeliveryFailed(f"{name}: answered HTTP 500 (after 3 attempts)")
            self.delivered.append((name, transition))
            if self.clock is not None:
                self.clock.advance(self.takes_s)


_: AlertSender = FakeAlertSender()


def watch(world: World) -> Watch:
    return Watch(Thresholds(), timedelta(minutes=5), world.clock.now(), None)


def subscribed(world: World) -> None:
    world.store.subscribed = [
        WebhookSubscription("1", "inventory_levels/update", "https://x.example/a"),
        WebhookSubscription("2", "orders/create", "https://x.example/b"),
    ]


async def park(world: World) -> str:
    pid, _ = await world.product(ours=7, base=5, shopify=5)
    async with world.uow() as unit:
        await unit.products.record_failures(
            [SyncFailure(ProductId(pid), "refused", None)], world.clock.now()
        )
        await unit.commit()
    return pid


async def unpark(world: World, pid: str) -> None:
    """The product retried and fine: its failure cleared."""
    async with world.uow() as unit:
        await unit.products.clear_failure([pid], world.clock.now())
        await unit.commit()


async def check(
    world: World, sender: FakeAlertSender, holder: str = "a"
) -> list[tuple[str, Transition]] | None:
    return await check_alerts(
        holder, world.uow, world.store, world.clock, sender, watch(world), None, TTL
    )


async def test_a_parked_product_is_notified_once_across_processes(world: World) -> None:
    """Two processes check in turn while a product stays parked: one message in all."""
    subscribed(world)
    await park(world)
    first, second = FakeAlertSender(), FakeAlertSender()

    await check(world, first, "process-a")
    await check(world, second, "process-b")
    await check(world, first, "process-a")

    assert [(t.condition, t.change) for t in first.sent + second.sent] == [
        ("products_parked", "started")
    ]


async def test_clearing_is_notified_once(world: World) -> None:
    """Once the parked product is retried and fine, one 'cleared' follows, then silence."""
    subscribed(world)
    pid = await park(world)
    sender = FakeAlertSender()
    await check(world, sender)
    await unpark(world, pid)

    await check(world, sender)
    await check(world, sender)

    assert [t.change for t in sender.sent] == ["started", "cleared"]


async def test_a_failed_delivery_is_sent_again_at_the_next_check(world: World) -> None:
    """The receiver fails once: nothing recorded, and the next check delivers it."""
    subscribed(world)
    await park(world)
    sender = FakeAlertSender(fail=1)

    first = await check(world, sender)
    second = await check(world, sender)

    assert first == [] and [t.change for t in sender.sent] == ["started"]
    assert second is not None and len(second) == 1


async def test_missing_subscriptions_and_refused_credentials_start_alerts(world: World) -> None:
    """No subscriptions: an alert naming the topics; then Shopify answering 401: the
    credentials alert, while the subscriptions alert stays on (unknown this time)."""
    sender = FakeAlertSender()
    await check(world, sender)
    world.store.fail_next = [StoreRejected("HTTP 401: invalid token", status=401)]

    await check(world, sender)

    assert [(t.condition, t.change) for t in sender.sent] == [
        ("webhook_subscription_missing", "started"),
        ("shopify_credentials_refused", "started"),
    ]
    assert "inventory_levels/update, orders/create" in sender.sent[0].message


async def test_shopify_down_decides_nothing_about_its_conditions(world: World) -> None:
    """An outage (not a refusal) leaves the subscription and credential conditions alone."""
    sender = FakeAlertSender()
    world.store.fail_next = [unavailable()]

    await check(world, sender)

    assert sender.sent == []


async def test_another_process_holding_the_lease_checks_instead(world: World) -> None:
    """While another process holds the alerts lease, a check does nothing (None)."""
    async with world.uow() as unit:
        await unit.leases.acquire("alerts", "other", TTL, world.clock.now())
        await unit.commit()

    found = await check(world, FakeAlertSender())

    assert found is None


async def test_a_check_out_of_time_leaves_the_rest_to_the_next(world: World) -> None:
    """With deliveries slow enough to near the lease's end, a check stops sending (so no
    other process takes the lease over it) and the next check sends what is left, once."""
    await park(world)  # products_parked, and no subscriptions: webhook_subscription_missing
    sender = FakeAlertSender(clock=world.clock, takes_s=TTL.total_seconds() * 0.9)

    first = await check(world, sender)
    second = await check(world, sender)
    third = await check(world, sender)

    assert [len(found or ()) for found in (first, second, third)] == [1, 1, 0]
    assert sorted(t.condition for t in sender.sent) == [
        "products_parked", "webhook_subscription_missing",
    ]  # fmt: skip


async def test_the_test_message_goes_to_every_channel(world: World) -> None:
    """send_test delivers a 'test' transition and names the channels."""
    sender = FakeAlertSender()

    channels = await send_test(sender, world.clock)

    assert channels == ("fake",) and [t.condition for t in sender.sent] == ["test"]


async def test_a_refused_token_exchange_starts_the_credentials_alert(world: World) -> None:
    """Client credentials refused (StoreAuthFailed, not a plain 4xx) start the alert."""
    subscribed(world)
    sender = FakeAlertSender()
    world.store.fail_next = [StoreAuthFailed("the token exchange was refused: invalid_client")]

    await check(world, sender)

    assert [(t.condition, t.change) for t in sender.sent] == [
        ("shopify_credentials_refused", "started")
    ]
    assert "invalid_client" in sender.sent[0].message


TWO = ("webhook hooks.example.com", "e-mail to ops@example.com via smtp.example.com")


def two_channels(fail: int = 0) -> FakeAlertSender:
    """The webhook channel failing ``fail`` times, the e-mail channel working."""
    return FakeAlertSender(names=TWO, fail=fail, failing=TWO[0])


async def test_a_retry_goes_to_the_failed_channel_only_and_once_across_processes(
    world: World,
) -> None:
    """The webhook channel fails, e-mail succeeds: the next check (by another process)
    sends the start to the webhook only; the clearing then reaches each channel once."""
    subscribed(world)
    pid = await park(world)
    first, second = two_channels(fail=1), two_channels()

    await check(world, first, "process-a")
    await check(world, second, "process-b")
    await check(world, first, "process-a")
    await unpark(world, pid)
    await check(world, second, "process-b")
    await check(world, first, "process-a")

    told = [(c, t.condition, t.change) for c, t in first.delivered + second.delivered]
    assert told == [
        (TWO[1], "products_parked", "started"),
        (TWO[0], "products_parked", "started"),
        (TWO[0], "products_parked", "cleared"),
        (TWO[1], "products_parked", "cleared"),
    ]


async def test_a_channel_that_missed_the_start_is_not_told_of_the_clearing(
    world: World,
) -> None:
    """The webhook channel fails while the condition starts and clears again: it is sent
    neither message; e-mail gets both."""
    subscribed(world)
    pid = await park(world)
    sender = two_channels(fail=1)

    await check(world, sender)
    await unpark(world, pid)
    await check(world, sender)
    await check(world, sender)

    assert [(c, t.change) for c, t in sender.delivered] == [
        (TWO[1], "started"),
        (TWO[1], "cleared"),
    ]


async def test_states_from_before_channels_were_told_apart_stand_for_every_channel(
    world: World,
) -> None:
    """A condition recorded for every channel (channel '') is not started again on either;
    its clearing reaches both."""
    subscribed(world)
    pid = await park(world)
    async with world.uow() as unit:
        await unit.alerts.started("products_parked", "", "1 product(s) parked", world.clock.now())
        await unit.commit()
    sender = two_channels()

    await check(world, sender)
    await unpark(world, pid)
    await check(world, sender)

    assert [(c, t.change, t.message) for c, t in sender.delivered] == [
        (TWO[0], "cleared", "1 product(s) parked"),
        (TWO[1], "cleared", "1 product(s) parked"),
    ]
    async with world.uow() as unit:
        assert await unit.alerts.notified() == {}
