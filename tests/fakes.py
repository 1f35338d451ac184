"""In-memory fakes of the ports, for tests of the service layer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shopify_sync.domain.model import (
    AppAccess,
    LevelRead,
    Location,
    SetQuantities,
    Variant,
    WebhookSubscription,
    WriteError,
    WriteErrorKind,
    WriteResult,
)
from shopify_sync.errors import OutcomeUnknown, StoreError, StoreRejected, StoreUnavailable
from shopify_sync.services.ports import Clock, Metrics, StoreClient
from shopify_sync.types import InventoryItemId, LocationId, VariantId


class FakeClock:
    """A clock that moves only when told to (or when slept on)."""

    def __init__(self, start: datetime = datetime(2026, 5, 1, 10, 0, 0, tzinfo=UTC)) -> None:
        self.current = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.current += timedelta(seconds=seconds)


@dataclass
class FakeItem:
    """One inventory item at our location."""

    available: int | None
    updated_at: datetime
    tracked: bool = True
    variant: VariantId | None = None
    sku: str | None = None


@dataclass(frozen=True)
class LevelEvent:
    """An ``inventory_levels/update`` Shopify would send after a change of ``available``."""

    event_id: str
    inventory_item_id: InventoryItemId
    available: int | None
    updated_at: datetime


def shopify_time(moment: datetime) -> datetime:
    """Shopify's timestamps have one-second resolution."""
    return moment.replace(microsecond=0)


@dataclass
class FakeStoreClient:
    """Shopify in memory: CAS writes applied all-or-nothing, idempotency keys replayed.

    ``fail_next`` raises the given errors on the next calls; ``lose_next_response`` applies
    the next write but raises OutcomeUnknown, as a timeout after Shopify applied it would;
    ``refuse_next`` refuses the next writes (a 4xx), and their keys for good, as Shopify
    answers a request again under the same idempotency key.
    """

    clock: Clock
    items: dict[InventoryItemId, FakeItem] = field(default_factory=dict)
    fail_next: list[StoreError] = field(default_factory=list)
    lose_next_response: int = 0
    refuse_next: int = 0
    refused: set[str] = field(default_factory=set)
    answered: dict[str, tuple[SetQuantities, WriteResult]] = field(default_factory=dict)
    writes: list[SetQuantities] = field(default_factory=list)
    reads: int = 0
    bulk_reads: int = 0
    """Whole-catalogue variant reads (one bulk operation each)."""
    before_write: list[Callable[[], None]] = field(default_factory=list)
    """Run one each before the next writes are applied (a sale racing our push)."""
    events: list[LevelEvent] = field(default_factory=list)
    """Every change of ``available``, as the webhooks Shopify would send for it."""
    subscribed: list[WebhookSubscription] = field(default_factory=list)
    """Our app's webhook subscriptions."""
    shop_locations: list[Location] = field(
        default_factory=lambda: [Location(LocationId(1), "Shop location", True)]
    )
    """The store's locations (ours is 1 in every test's settings)."""
    scopes: tuple[str, ...] = ("read_inventory", "write_inventory", "read_products", "read_orders")
    """The access scopes granted to the app."""
    api_version: str | None = "2026-10"
    """The API version that answers."""

    def add(self, item: int, available: int | None, *, variant: int | None = None) -> None:
        """Stock an item at our location."""
        self.items[InventoryItemId(item)] = FakeItem(
            available,
            shopify_time(self.clock.now()),
            variant=VariantId(variant) if variant else None,
        )

    def sell(self, item: int, quantity: int) -> None:
        """A Shopify sale (or, negative, a merchant's edit): available moves, timestamped."""
        entry = self.items[InventoryItemId(item)]
        assert entry.available is not None
        self._set(InventoryItemId(item), entry.available - quantity)

    def _set(self, item: InventoryItemId, available: int) -> None:
        entry = self.items[item]
        entry.available = available
        entry.updated_at = shopify_time(self.clock.now())
        self.events.append(
            LevelEvent(f"evt-{len(self.events) + 1}-{item}", item, available, entry.updated_at)
        )

    def available(self, item: int) -> int | None:
        """What Shopify holds now."""
        return self.items[InventoryItemId(item)].available

    def _maybe_fail(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)

    async def read_levels(
        self, items: Sequence[InventoryItemId]
    ) -> dict[InventoryItemId, LevelRead]:
        self._maybe_fail()
        self.reads += 1
        result: dict[InventoryItemId, LevelRead] = {}
        for item in items:
            entry = self.items.get(item)
            if entry is None:
                result[item] = LevelRead(item, None, None, known=False)
            else:
                result[item] = LevelRead(item, entry.available, entry.updated_at, entry.tracked)
        return result

    async def snapshot_levels(self) -> AsyncIterator[LevelRead]:
        self._maybe_fail()
        for item, entry in sorted(self.items.items()):
            yield LevelRead(item, entry.available, entry.updated_at, entry.tracked)

    async def catalogue_variants(self) -> AsyncIterator[Variant]:
        self._maybe_fail()
        self.bulk_reads += 1
        for item, entry in sorted(self.items.items()):
            if entry.variant is not None:
                yield Variant(entry.variant, item, entry.sku, entry.sku or "", entry.tracked)

    async def set_quantities(self, write: SetQuantities) -> WriteResult:
        self._maybe_fail()
        self.writes.append(write)
        previous = self.answered.get(write.idempotency_key)
        if previous is not None:
            assert previous[0] == write, "same key reused with a different request"
            return previous[1]
        if self.refuse_next and write.idempotency_key not in self.refused:
            self.refuse_next -= 1
            self.refused.add(write.idempotency_key)
        if write.idempotency_key in self.refused:
            raise StoreRejected("Shopify answered HTTP 400", status=400)
        if self.before_write:
            self.before_write.pop(0)()
        result = self._apply(write)
        self.answered[write.idempotency_key] = (write, result)
        if self.lose_next_response:
            self.lose_next_response -= 1
            raise OutcomeUnknown("timed out after sending; Shopify may have applied it")
        return result

    def _apply(self, write: SetQuantities) -> WriteResult:
        errors: list[WriteError] = []
        for entry in write.entries:
            item = self.items.get(entry.inventory_item_id)
            if item is None:
                errors.append(
                    WriteError(
                        WriteErrorKind.PERMANENT,
                        "INVALID_INVENTORY_ITEM",
                        "unknown",
                        entry.inventory_item_id,
                    )
                )
            elif item.available != entry.expected:
                errors.append(
                    WriteError(
                        WriteErrorKind.STALE,
                        "CHANGE_FROM_QUANTITY_STALE",
                        "stale",
                        entry.inventory_item_id,
                    )
                )
        if errors:
            return WriteResult(applied=False, errors=tuple(errors))
        for entry in write.entries:
            self._set(entry.inventory_item_id, entry.quantity)
        now = shopify_time(self.clock.now())
        return WriteResult(applied=True, applied_at=now, adjustment_group_id="gid://x/1")

    async def resolve_inventory_items(
        self, variants: Sequence[VariantId]
    ) -> dict[VariantId, InventoryItemId]:
        self._maybe_fail()
        wanted = set(variants)
        return {e.variant: i for i, e in self.items.items() if e.variant in wanted if e.variant}

    async def find_variants(self, query: str, *, limit: int = 50) -> list[Variant]:
        self._maybe_fail()
        return [
            Variant(e.variant, i, e.sku, e.sku or "", e.tracked)
            for i, e in self.items.items()
            if e.variant and (e.sku or "") in query
        ][:limit]

    async def find_product_variants(self, query: str, *, limit: int = 10) -> list[Variant]:
        # Products here have no titles of their own: a product search matches nothing.
        self._maybe_fail()
        return []

    async def location(self, location_id: LocationId) -> Location | None:
        self._maybe_fail()
        return next((loc for loc in self.shop_locations if loc.id == location_id), None)

    async def locations(self) -> list[Location]:
        self._maybe_fail()
        return list(self.shop_locations)

    async def webhook_subscriptions(self) -> list[WebhookSubscription]:
        self._maybe_fail()
        return list(self.subscribed)

    async def app_access(self) -> AppAccess:
        self._maybe_fail()
        return AppAccess(self.scopes, self.api_version)

    async def create_webhook_subscription(self, topic: str, uri: str) -> WebhookSubscription:
        return WebhookSubscription("gid://shopify/WebhookSubscription/1", topic, uri)

    async def delete_webhook_subscription(self, subscription_id: str) -> None:
        return None


def unavailable() -> StoreUnavailable:
    """A Shopify outage."""
    return StoreUnavailable("Shopify answered 503 Service Unavailable")


_store: StoreClient = FakeStoreClient(FakeClock())
_clock: Clock = FakeClock()


@dataclass
class FakeMetrics:
    """Records every call of the ``Metrics`` port, in order, as (method, arguments)."""

    calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)

    def named(self, method: str) -> list[tuple[object, ...]]:
        """The arguments of every call of ``method``."""
        return [args for name, args in self.calls if name == method]

    def webhook(self, topic: str, outcome: str, lag_s: float | None = None) -> None:
        self.calls.append(("webhook", (topic, outcome, lag_s)))

    def pushed(self, products: int, latency_s: float | None) -> None:
        self.calls.append(("pushed", (products, latency_s)))

    def pulled(self, products: int, via: str) -> None:
        self.calls.append(("pulled", (products, via)))

    def sync_failed(self, products: int) -> None:
        self.calls.append(("sync_failed", (products,)))

    def shopify_call(self, operation: str, outcome: str, duration_s: float) -> None:
        self.calls.append(("shopify_call", (operation, outcome)))

    def shopify_cost(self, points: float, available: float | None) -> None:
        self.calls.append(("shopify_cost", (points, available)))

    def shopify_waited(self, seconds: float) -> None:
        self.calls.append(("shopify_waited", (seconds,)))

    def outage_pause(self, on: bool) -> None:
        self.calls.append(("outage_pause", (on,)))

    def token_renewed(self, outcome: str) -> None:
        self.calls.append(("token_renewed", (outcome,)))

    def sign_in(self, outcome: str) -> None:
        self.calls.append(("sign_in", (outcome,)))

    def reconciled(
        self, *, ok: bool, duration_s: float, checked: int, pushed: int, pulled: int, failed: int
    ) -> None:
        self.calls.append(("reconciled", (ok, checked, pushed, pulled, failed)))


_metrics: Metrics = FakeMetrics()
