"""Ports: the Protocols the use cases need, implemented by the adapters and by test fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from shopify_sync.domain.alerts import Transition
from shopify_sync.domain.commands import ApplyInventoryLevel, RecordOrder, WebhookMeta
from shopify_sync.domain.inbound import LevelPlan, LevelView
from shopify_sync.domain.model import (
    AllocationChange,
    AppAccess,
    Change,
    LevelRead,
    Link,
    Location,
    LogEntry,
    LogRecord,
    Product,
    ProductStates,
    PulledChange,
    PushStart,
    SetQuantities,
    SyncFailure,
    SyncRun,
    Variant,
    WebhookEvent,
    WebhookRefusals,
    WebhookSubscription,
    WriteResult,
)
from shopify_sync.types import InventoryItemId, LocationId, ProductId, VariantId


class WebhookDecoder(Protocol):
    """Verifies a webhook delivery's signature and turns its body into a command.

    Raises ``WebhookUnauthorized`` for a bad signature, ``WebhookRejected`` for a body
    or headers we cannot use.
    """

    def verify(self, body: bytes, signature: str | None) -> None: ...
    def meta(self, headers: Mapping[str, str], topic: str) -> WebhookMeta: ...
    def inventory_level(self, meta: WebhookMeta, body: bytes) -> ApplyInventoryLevel: ...
    def order(self, meta: WebhookMeta, body: bytes) -> RecordOrder: ...


class Clock(Protocol):
    """The time source; tests inject a fake one and never sleep."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait; a fake clock advances itself instead."""
        ...


class StoreClient(Protocol):
    """Shopify's Admin API as the sync needs it, at the one configured location.

    Every method raises only :class:`shopify_sync.errors.StoreError` subclasses:
    ``StoreUnavailable`` (and ``OutcomeUnknown`` for a write sent without an answer),
    ``RateLimited`` once pacing and bounded retries are exhausted, ``StoreRejected``.
    """

    async def read_levels(
        self, items: Sequence[InventoryItemId]
    ) -> dict[InventoryItemId, LevelRead]:
        """Read ``available`` for many items (batched, 250 per call); every id gets an entry."""
        ...

    def snapshot_levels(self) -> AsyncIterator[LevelRead]:
        """Stream every level at the location from one bulk operation, never all in memory."""
        ...

    def catalogue_variants(self) -> AsyncIterator[Variant]:
        """Stream every variant of the store from one bulk operation, never all in memory."""
        ...

    async def set_quantities(self, write: SetQuantities) -> WriteResult:
        """Send one compare-and-set write; resending the same value replays Shopify's answer."""
        ...

    async def resolve_inventory_items(
        self, variants: Sequence[VariantId]
    ) -> dict[VariantId, InventoryItemId]:
        """Map variant ids to their inventory item ids; unknown variants are left out."""
        ...

    async def find_variants(self, query: str, *, limit: int = 50) -> list[Variant]:
        """Search variants with Shopify's query syntax (e.g. ``sku:ABC-1`` or a title word)."""
        ...

    async def find_product_variants(self, query: str, *, limit: int = 10) -> list[Variant]:
        """The variants of the first ``limit`` products matching a product search (e.g. title
        words): Shopify's variant search does not look at the product's title."""
        ...

    async def location(self, location_id: LocationId) -> Location | None:
        """One location by id, inactive ones included; None when the store has no such one."""
        ...

    async def locations(self) -> list[Location]:
        """Every location of the store."""
        ...

    async def webhook_subscriptions(self) -> list[WebhookSubscription]:
        """Our app's webhook subscriptions."""
        ...

    async def app_access(self) -> AppAccess:
        """The access scopes granted to our app, and the API version that answered."""
        ...

    async def create_webhook_subscription(self, topic: str, uri: str) -> WebhookSubscription:
        """Subscribe ``uri`` to ``topic`` (REST form, e.g. ``orders/create``)."""
        ...

    async def delete_webhook_subscription(self, subscription_id: str) -> None:
        """Remove one subscription."""
        ...


class SyncProductRepository(Protocol):
    """What the sync's stages read and write of ``product_inventory``: compare-and-set
    writes that name their ``Change``."""

    async def get_many(
        self, product_ids: Iterable[str], *, lock: bool = False
    ) -> list[Product]: ...
    async def by_inventory_items(self, items: Iterable[InventoryItemId]) -> list[Product]: ...
    async def syncable(
        self,
        *,
        after: str | None = None,
        limit: int = 1000,
        not_synced_since: datetime | None = None,
    ) -> list[Product]: ...
    async def unresolved(
        self, *, limit: int = 250, now: datetime | None = None
    ) -> list[Product]: ...
    async def set_inventory_item(
        self, product_id: str, item: InventoryItemId, now: datetime
    ) -> None: ...
    async def apply_inbound(
        self,
        changes: Sequence[PulledChange],
        *,
        source: str,
        now: datetime,
        synced: bool = False,
        read_at: datetime | None = None,
    ) -> set[ProductId]: ...
    async def request_refresh(self, product_ids: Iterable[str], now: datetime) -> None: ...
    async def begin_pushes(
        self,
        key: str,
        starts: Sequence[PushStart],
        now: datetime,
        *,
        read_at: datetime | None = None,
    ) -> set[ProductId]: ...
    async def in_flight(self, key: str) -> list[Product]: ...
    async def finish_push(
        self, key: str, *, applied_at: datetime | None, change: Change, now: datetime
    ) -> list[Product]: ...
    async def abandon_push(self, key: str, now: datetime) -> list[Product]: ...
    async def record_failures(self, failures: Sequence[SyncFailure], now: datetime) -> None: ...
    async def mark_synced(
        self,
        product_ids: Sequence[str],
        seen: Mapping[str, datetime | None],
        now: datetime,
        *,
        read_at: datetime | None = None,
    ) -> None: ...


class ProductRepository(SyncProductRepository, Protocol):
    """``product_inventory``: the sync's reads and writes, and the operator's."""

    async def get(self, product_id: str, *, lock: bool = False) -> Product | None: ...
    async def by_inventory_item(
        self, item: InventoryItemId, *, lock: bool = False
    ) -> list[Product]: ...
    async def duplicate_skus(self) -> set[str]: ...
    async def by_variants(self, variants: Sequence[int]) -> list[Product]: ...
    async def page(
        self,
        *,
        after: str | None = None,
        limit: int = 500,
        linked_enabled: bool = False,
        errors: bool = False,
        unlinked: bool = False,
        disabled: bool = False,
        parked: bool = False,
        search: str | None = None,
        linked: bool = False,
        policy: str | None = None,
        default_policy: str | None = None,
    ) -> list[Product]: ...
    async def count_syncable(self) -> int: ...
    async def due(
        self, now: datetime, *, limit: int = 1000, after: str | None = None
    ) -> list[Product]: ...
    async def counts(self) -> Mapping[str, int]: ...
    async def states(self) -> ProductStates:
        """Products per monitoring state, the oldest error and the last good reconcile,
        in one query (a scrape runs it)."""
        ...

    async def clear_failure(self, product_ids: Iterable[str], now: datetime) -> None: ...
    async def upsert(self, fields: Mapping[str, Any], change: Change, now: datetime) -> None: ...
    async def set_stock(
        self,
        product_id: str,
        *,
        b2b_stock: int | None = None,
        b2c_stock: int | None = None,
        change: Change,
        now: datetime,
    ) -> None: ...
    async def move_stock(
        self, product_id: str, *, to_b2c: int, change: Change, now: datetime
    ) -> None: ...
    async def set_allocation(
        self, change: AllocationChange, *, reference: str | None, now: datetime
    ) -> bool:
        """Write a product's new allocation and move its stocks, compare-and-set on the row
        as ``change.before`` read it (and no write in flight); False when it moved."""
        ...

    async def set_links(self, links: Sequence[Link], now: datetime) -> None: ...
    async def set_enabled(self, product_id: str, enabled: bool, now: datetime) -> None: ...


class LogRepository(Protocol):
    """The audit trail ``inventory_sync_log`` (append-only)."""

    async def add(self, records: Sequence[LogRecord], now: datetime) -> None: ...
    async def recent(
        self, *, product_id: str | None = None, limit: int = 50, before_id: int | None = None
    ) -> list[LogEntry]: ...
    async def latest(
        self, product_id: str, *, direction: str | None = None, source_prefix: str | None = None
    ) -> LogEntry | None: ...


class WebhookEventRepository(Protocol):
    """``webhook_events``: de-duplication of deliveries."""

    async def seen(self, event_id: str, webhook_id: str | None) -> bool: ...
    async def record(self, event: WebhookEvent) -> bool: ...
    async def recent(self, *, limit: int = 50) -> list[WebhookEvent]: ...
    async def prune(self, older_than: datetime) -> int: ...
    async def last_received_at(self) -> datetime | None: ...
    async def add_refusals(self, counts: Sequence[WebhookRefusals]) -> None: ...
    async def refusals_since(self, since: datetime) -> list[WebhookRefusals]: ...


class OutboundWriteRepository(Protocol):
    """Writes stored before sending, until Shopify gives a definite answer."""

    async def add(self, write: SetQuantities, now: datetime) -> None: ...
    async def get(self, key: str) -> SetQuantities | None: ...
    async def failed_attempt(self, key: str, error: str) -> None: ...
    async def remove(self, key: str) -> None: ...
    async def keys(self) -> list[str]: ...


class SyncRunRepository(Protocol):
    """What each sync pass did."""

    async def add(self, run: SyncRun) -> None: ...
    async def last(self, kind: str) -> SyncRun | None: ...


class LeaseRepository(Protocol):
    """Named, expiring locks shared by every process on the database."""

    async def acquire(self, name: str, holder: str, ttl: timedelta, now: datetime) -> bool: ...
    async def release(self, name: str, holder: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SignInFailures:
    """Failed sign-ins from one client address."""

    failures: int
    last_failed_at: datetime
    blocked_until: datetime | None


class AccessRepository(Protocol):
    """``admin_sessions`` and ``sign_in_failures``: the admin page's sessions and the
    sign-in throttle, shared by every process (session ids are stored hashed)."""

    async def failures(self, client: str) -> SignInFailures | None:
        """The address's failed sign-ins, or None."""
        ...

    async def failures_since(self, start: datetime) -> int:
        """Failed sign-ins of every address whose last failure is at or after ``start``."""
        ...

    async def record_failure(self, client: str, now: datetime, delay: timedelta) -> int:
        """Count one more failure of ``client``, blocked for ``delay`` computed by the caller
        from the count before this one plus one; returns the new count."""
        ...

    async def clear_failures(self, client: str) -> None:
        """Forget the address's failures (after a good sign-in)."""
        ...

    async def prune_failures(self, older_than: datetime) -> None:
        """Forget addresses whose last failure is older than ``older_than``."""
        ...

    async def open_session(self, session_hash: str, now: datetime) -> None:
        """Record a new session."""
        ...

    async def touch_session(self, session_hash: str, now: datetime, idle_since: datetime) -> bool:
        """Mark the session used now, if it exists and was used at or after
        ``idle_since``; False when it ended (signed out, expired or never existed)."""
        ...

    async def close_session(self, session_hash: str) -> None:
        """End the session."""
        ...

    async def prune_sessions(self, idle_since: datetime) -> None:
        """Remove sessions unused since before ``idle_since``."""
        ...


class HistoryRepository(Protocol):
    """``metric_intervals``: the dashboard's per-interval figures, added to by every process."""

    async def add(
        self,
        sums: Mapping[tuple[datetime, str], float],
        maxima: Mapping[tuple[datetime, str], float],
    ) -> None:
        """Add ``sums`` to each (interval, figure) and raise it to ``maxima``."""
        ...

    async def since(self, start: datetime) -> list[tuple[datetime, str, float]]:
        """Every (interval start, figure, value) from ``start`` on, oldest first."""
        ...

    async def prune(self, older_than: datetime) -> int:
        """Forget intervals that began before ``older_than``; returns the rows removed."""
        ...


class AlertStateRepository(Protocol):
    """``alert_states``: for each channel, the conditions it was last told are on, with their
    message (shared by every process, so each change reaches each channel once)."""

    async def notified(self) -> dict[str, dict[str, str]]:
        """Channel -> condition -> message, for what each channel was last told is on;
        channel ``''`` holds rows from before channels were told apart (every channel)."""
        ...

    async def started(self, condition: str, channel: str, message: str, now: datetime) -> None:
        """Record that ``channel`` was told ``condition`` is on."""
        ...

    async def cleared(self, condition: str, channel: str) -> None:
        """Record that ``channel`` was told ``condition`` cleared."""
        ...

    async def spread(self, channels: Sequence[str]) -> None:
        """Replace the rows of channel ``''`` by one per channel in ``channels`` (where that
        channel has no row of its own for the condition)."""
        ...


class AlertSender(Protocol):
    """Delivers alert messages (a webhook receiver, e-mail); retries a failed delivery a
    few times, then raises ``AlertDeliveryFailed``."""

    @property
    def channels(self) -> tuple[str, ...]:
        """What it delivers to, for people (``webhook hooks.slack.com``, ``e-mail to ...``);
        each name also keys that channel's alert state."""
        ...

    async def send(self, transition: Transition, now: datetime, channel: str | None = None) -> None:
        """Deliver one started or cleared condition to ``channel`` (one of ``channels``), or
        to every channel when None.

        Raises:
            AlertDeliveryFailed: a channel failed through its retries.
        """
        ...


class SyncUnitOfWork(Protocol):
    """One database transaction as the sync's stages need it (their products, the audit
    trail and the stored writes): ``async with uow: ...; await uow.commit()``.

    Leaving the block without ``commit()`` rolls everything back.
    """

    @property
    def products(self) -> SyncProductRepository: ...
    @property
    def log(self) -> LogRepository: ...
    @property
    def writes(self) -> OutboundWriteRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class SyncUnitOfWorkFactory(Protocol):
    """Makes a fresh unit of work for the sync's stages per use."""

    def __call__(self) -> SyncUnitOfWork: ...


class UnitOfWork(SyncUnitOfWork, Protocol):
    """One database transaction with every repository: ``async with uow: ...;
    await uow.commit()``. Leaving the block without ``commit()`` rolls everything back.
    """

    @property
    def products(self) -> ProductRepository: ...
    @property
    def webhooks(self) -> WebhookEventRepository: ...
    @property
    def runs(self) -> SyncRunRepository: ...
    @property
    def leases(self) -> LeaseRepository: ...
    @property
    def history(self) -> HistoryRepository: ...
    @property
    def alerts(self) -> AlertStateRepository: ...
    @property
    def access(self) -> AccessRepository: ...


class UnitOfWorkFactory(Protocol):
    """Makes a fresh unit of work per use."""

    def __call__(self) -> UnitOfWork: ...


class LevelStore(Protocol):
    """Applies batches of ``inventory_levels/update`` deliveries, one transaction each.

    The webhook hot path: reading, planning and writing a whole batch costs a few
    statements, not a few per delivery.
    """

    parallel_batches: int
    """How many batches may be in flight at once (1 where transactions take turns)."""

    async def apply_levels(
        self, cmds: Sequence[ApplyInventoryLevel], plan: Callable[[LevelView], LevelPlan]
    ) -> LevelPlan:
        """In one transaction: read the :class:`LevelView` of ``cmds`` (their products
        locked until the commit), call ``plan`` on it, write the plan and commit.

        Raises:
            WriteConflict: a write did not land as planned; nothing was committed.
            StorageError: the database failed; nothing was committed.
        """
        ...

    async def aclose(self) -> None:
        """Release connections and threads."""
        ...


class Metrics(Protocol):
    """What the sync reports for monitoring (``/metrics``, the dashboard's history).

    Every method is cheap and never raises: counting must not slow or disturb a sync.
    Labels are small closed sets (topics, outcomes, operation names), never a product.
    """

    def webhook(self, topic: str, outcome: str, lag_s: float | None = None) -> None:
        """One delivery answered: ``applied``, ``duplicate``, ``stale``, ``ignored``,
        ``bad_signature``, ``malformed``, ``too_large`` or ``unavailable``; for an
        applied one, the seconds from Shopify's trigger to our commit."""
        ...

    def pushed(self, products: int, latency_s: float | None) -> None:
        """Shopify acknowledged a write of ``products`` changes of ours, ``latency_s``
        after the sync picked them up (None: a resend of an older write, not timed)."""
        ...

    def pulled(self, products: int, via: str) -> None:
        """Shopify-side changes taken into our rows (``via``: ``webhook`` or ``sync``)."""
        ...

    def sync_failed(self, products: int) -> None:
        """Products whose sync attempt failed (each records its error)."""
        ...

    def shopify_call(self, operation: str, outcome: str, duration_s: float) -> None:
        """One call to Shopify ended (``ok``, ``rejected``, ``throttled``,
        ``unavailable``, ``outcome_unknown`` or ``paused``), retries included."""
        ...

    def shopify_cost(self, points: float, available: float | None) -> None:
        """Shopify charged ``points`` for a call; its bucket now holds ``available``."""
        ...

    def shopify_waited(self, seconds: float) -> None:
        """A call waited this long for the cost bucket to refill."""
        ...

    def outage_pause(self, on: bool) -> None:
        """The outage pause began (True) or ended (False)."""
        ...

    def token_renewed(self, outcome: str) -> None:
        """An access token renewal ended (``ok`` or ``failed``)."""
        ...

    def sign_in(self, outcome: str) -> None:
        """An admin sign-in attempt ended: ``ok``, ``failed`` or ``throttled``."""
        ...

    def reconciled(
        self,
        *,
        ok: bool,
        duration_s: float,
        checked: int,
        pushed: int,
        pulled: int,
        failed: int,
    ) -> None:
        """A full reconcile ended, with what it found."""
        ...


class MetricsPage(Protocol):
    """Renders the process's metrics for a scrape."""

    content_type: str

    def render(self, states: ProductStates | None) -> bytes:
        """The exposition; ``states`` None marks the database-derived figures unavailable."""
        ...
