"""Setting the store up: locations and webhook subscriptions (services.setup)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from shopify_sync.domain.model import Location, WebhookSubscription
from shopify_sync.errors import InvalidRequest
from shopify_sync.services import setup
from shopify_sync.types import LocationId
from tests.fakes import FakeClock
from tests.unit.services.conftest import World
from tests.unit.services.shop_fakes import FakeShop, _shop_world, shop  # noqa: F401  (a fixture)

pytestmark = pytest.mark.anyio

ADDRESS = "https://sync.example.com"
INVENTORY = "https://sync.example.com/webhooks/inventory-update"
ORDERS = "https://sync.example.com/webhooks/orders-create"


def sub(n: int, topic: str, uri: str) -> WebhookSubscription:
    """A subscription with a readable id."""
    return WebhookSubscription(f"gid://shopify/WebhookSubscription/{n}", topic, uri)


@pytest.fixture(name="store")
def _store() -> FakeShop:
    return FakeShop(FakeClock())


def test_webhook_targets_put_each_topic_under_the_address() -> None:
    """Each topic goes to its path under the address (a trailing slash is ignored)."""
    assert (setup.webhook_targets(ADDRESS + "/")) == {
        "inventory_levels/update": INVENTORY,
        "orders/create": ORDERS,
    }


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("sync.example.com", "public base URL"),
        ("ftp://sync.example.com", "public base URL"),
        ("https://sync.example.com/?a=1", "public base URL"),
        ("http://sync.example.com", "https only"),
    ],
)
def test_webhook_targets_refuse_unusable_addresses(address: str, message: str) -> None:
    """An address Shopify cannot deliver to is refused with the reason."""
    with pytest.raises(InvalidRequest, match=message):
        setup.webhook_targets(address)


def test_webhook_targets_accept_plain_http_on_this_machine() -> None:
    """Plain http is fine for a local host (the simulator delivers there)."""
    assert setup.webhook_targets("http://127.0.0.1:8080")["orders/create"].startswith("http://")


def test_compare_sorts_subscriptions() -> None:
    """Subscriptions are ok, wrong (our topic elsewhere), extra (ours, unneeded) or other."""
    existing = [
        sub(1, "inventory_levels/update", INVENTORY),
        sub(2, "inventory_levels/update", INVENTORY),
        sub(3, "orders/create", "https://old.example.com/webhooks/orders-create"),
        sub(4, "products/update", "https://sync.example.com/webhooks/products"),
        sub(5, "products/update", "https://elsewhere.example.com/hook"),
    ]

    check = setup.compare_webhooks(existing, ADDRESS)

    found = (check.ok, check.missing, check.wrong, check.extra, check.other, check.healthy)
    assert found == (
        (existing[0],), (("orders/create", ORDERS),), (existing[2],),
        (existing[1], existing[3]), (existing[4],), False,
    )  # fmt: skip


async def test_register_creates_the_missing_subscriptions_once(store: FakeShop) -> None:
    """Registering twice creates each subscription once, and reports healthy."""
    first = await setup.register_webhooks(store, ADDRESS)
    second = await setup.register_webhooks(store, ADDRESS)

    assert [(s.topic, s.uri) for s in first.created] == [
        ("inventory_levels/update", INVENTORY),
        ("orders/create", ORDERS),
    ]
    assert (second.created, second.healthy, len(store.subscriptions)) == ((), True, 2)


async def test_register_without_repair_leaves_wrong_ones(store: FakeShop) -> None:
    """Without repair, a subscription to an old address stays, and is reported."""
    old = await store.create_webhook_subscription("orders/create", "https://old.example.com/o")

    check = await setup.register_webhooks(store, ADDRESS)

    assert ((old,), (), False) == (check.wrong, check.deleted, check.healthy)


async def test_repair_creates_then_removes_wrong_and_extra(store: FakeShop) -> None:
    """Repair creates what is missing and removes subscriptions to wrong places."""
    old = await store.create_webhook_subscription("orders/create", "https://old.example.com/o")
    stray = await store.create_webhook_subscription("carts/update", ADDRESS + "/webhooks/carts")

    check = await setup.register_webhooks(store, ADDRESS, repair=True)

    assert ((old, stray), 2, True) == (check.deleted, len(check.created), check.healthy)
    assert {INVENTORY, ORDERS} == {s.uri for s in store.subscriptions.values()}


async def test_check_changes_nothing(store: FakeShop) -> None:
    """Checking lists what is missing and creates nothing."""
    check = await setup.check_webhooks(store, ADDRESS)

    assert (len(check.missing), store.subscriptions) == (2, {})


async def test_locations_list_active_ones_first() -> None:
    """Locations come active first, then by name."""

    class Shop(FakeShop):
        async def locations(self) -> list[Location]:
            return [
                Location(LocationId(3), "Zeta", True),
                Location(LocationId(1), "Old", False),
                Location(LocationId(2), "alpha", True),
            ]

    found = await setup.list_locations(Shop(FakeClock()))

    assert [loc.id for loc in found] == [2, 3, 1]


async def test_location_problem_names_an_unknown_or_inactive_location(store: FakeShop) -> None:
    """An unknown id and an inactive location are problems; an active one is not."""
    store.shop_locations = [
        Location(LocationId(1), "Main", True),
        Location(LocationId(2), "Closed shop", False),
    ]

    found = [await setup.location_problem(store, LocationId(n)) for n in (1, 2, 3)]

    assert found == [
        None,
        "location 2 (Closed shop) is inactive in the store",
        "the store has no location with id 3",
    ]


# -- the scheduled check of serve ------------------------------------------------------------

TTL = timedelta(minutes=5)


async def test_scheduled_check_restores_a_deleted_subscription_and_logs_it(
    shop_world: World,
) -> None:
    """A subscription Shopify deleted is created again, logged as a warning that says why."""
    store = shop(shop_world)
    await setup.register_webhooks(store, ADDRESS)
    gone = next(s for s in store.subscriptions.values() if s.topic == "orders/create")
    await store.delete_webhook_subscription(gone.id)

    with capture_logs() as logs:
        check = await setup.scheduled_webhook_check(
            "me", TTL, ADDRESS, shop_world.uow, store, shop_world.clock
        )

    assert check is not None
    assert ([(s.topic, s.uri) for s in check.created], check.healthy) == (
        [("orders/create", ORDERS)], True,
    )  # fmt: skip
    assert [(e["event"], e["log_level"], e["topic"]) for e in logs] == [
        ("webhook subscription created", "warning", "orders/create")
    ]


async def test_scheduled_check_corrects_a_subscription_pointing_elsewhere(
    shop_world: World,
) -> None:
    """A subscription of ours delivering to an old address is replaced by one to ours."""
    store = shop(shop_world)
    old = await store.create_webhook_subscription("orders/create", "https://old.example.com/o")

    check = await setup.scheduled_webhook_check(
        "me", TTL, ADDRESS, shop_world.uow, store, shop_world.clock
    )

    assert check is not None and check.deleted == (old,)
    assert {s.uri for s in store.subscriptions.values()} == {INVENTORY, ORDERS}


async def test_scheduled_check_runs_in_one_process_at_a_time(shop_world: World) -> None:
    """While another process holds the lease the check does nothing; once freed, it runs."""
    store = shop(shop_world)
    async with shop_world.uow() as unit:
        await unit.leases.acquire(setup.WEBHOOKS_LEASE, "other", TTL, shop_world.clock.now())
        await unit.commit()

    skipped = await setup.scheduled_webhook_check(
        "me", TTL, ADDRESS, shop_world.uow, store, shop_world.clock
    )
    shop_world.clock.advance(TTL.total_seconds() + 1)
    ran = await setup.scheduled_webhook_check(
        "me", TTL, ADDRESS, shop_world.uow, store, shop_world.clock
    )

    assert (skipped, store.subscriptions != {}) == (None, True)
    assert ran is not None and len(ran.created) == 2
