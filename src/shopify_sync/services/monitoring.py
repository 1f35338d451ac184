"""Monitoring use cases: the database-derived figures a scrape reads, a recorder that
counts nothing (when metrics are off, and in tests that do not look at them), and the
outage pause's start, which the alerts and the dashboard need whether metrics are on or off.

A scrape reads the products' states in one query, kept for ``ttl_s`` so that several
scrapers (or several processes' scrapers) cost at most one query per interval each. A
database that does not answer within ``timeout_s`` (a lock, a network that drops packets)
counts as unreachable, so that the scrape still answers well within Prometheus' timeout.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog

from shopify_sync.domain.model import ProductStates
from shopify_sync.errors import StorageError
from shopify_sync.services.ports import Clock, Metrics, UnitOfWorkFactory

log = structlog.get_logger(__name__)

STATES_TTL_S = 5.0
"""How long a read of the products' states serves scrapes."""
STATES_TIMEOUT_S = 3.0
"""How long a scrape waits for the products' states (Prometheus gives up after 10 s)."""


class StatesReader:
    """Reads :class:`ProductStates` at most once per ``ttl_s``; None while the database is
    unreachable or does not answer within ``timeout_s`` (the scrape then marks those figures
    unavailable instead of failing or timing out)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ttl_s: float = STATES_TTL_S,
        timeout_s: float = STATES_TIMEOUT_S,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._cached: tuple[float, ProductStates | None] | None = None

    async def read(self) -> ProductStates | None:
        """The states, fresh within ``ttl_s``; concurrent callers share one query."""
        async with self._lock:
            now = self._clock.now().timestamp()
            if self._cached is not None and now - self._cached[0] < self._ttl_s:
                return self._cached[1]
            states: ProductStates | None
            try:
                async with asyncio.timeout(self._timeout_s), self._uow() as unit:
                    states = await unit.products.states()
            except (StorageError, TimeoutError) as exc:
                log.warning(
                    "metrics: database unreachable; product figures marked unavailable",
                    error=str(exc) or f"no answer within {self._timeout_s:g} s",
                )
                states = None
            self._cached = (now, states)
            return states


class NoMetrics:
    """A recorder that records nothing (metrics turned off)."""

    def webhook(self, topic: str, outcome: str, lag_s: float | None = None) -> None:
        """Record nothing."""

    def pushed(self, products: int, latency_s: float | None) -> None:
        """Record nothing."""

    def pulled(self, products: int, via: str) -> None:
        """Record nothing."""

    def sync_failed(self, products: int) -> None:
        """Record nothing."""

    def shopify_call(self, operation: str, outcome: str, duration_s: float) -> None:
        """Record nothing."""

    def shopify_cost(self, points: float, available: float | None) -> None:
        """Record nothing."""

    def shopify_waited(self, seconds: float) -> None:
        """Record nothing."""

    def outage_pause(self, on: bool) -> None:
        """Record nothing."""

    def token_renewed(self, outcome: str) -> None:
        """Record nothing."""

    def sign_in(self, outcome: str) -> None:
        """Record nothing."""

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
        """Record nothing."""


NO_METRICS = NoMetrics()


class OutageWatch(NoMetrics):
    """Records only since when calls to Shopify are paused (the outage alert and the
    dashboard read it); counts nothing else, so it costs the webhook path nothing."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.outage_since: datetime | None = None
        """When the outage pause began; None while calls go through."""

    def outage_pause(self, on: bool) -> None:
        """Remember since when calls are paused (the first ``True`` of a pause)."""
        if not on:
            self.outage_since = None
        elif self.outage_since is None:
            self.outage_since = self._clock.now()


class MetricsFanOut:
    """Passes every count on to several recorders (Prometheus and the dashboard's history)."""

    def __init__(self, *recorders: Metrics) -> None:
        self._recorders = recorders
        # Bound once, for the recorders that count them: these two run on every delivery.
        counting = [r for r in recorders if not isinstance(r, NoMetrics)]
        self._webhooks = tuple(r.webhook for r in counting)
        self._pulled = tuple(r.pulled for r in counting)

    def webhook(self, topic: str, outcome: str, lag_s: float | None = None) -> None:
        """Pass on."""
        for webhook in self._webhooks:
            webhook(topic, outcome, lag_s)

    def pushed(self, products: int, latency_s: float | None) -> None:
        """Pass on."""
        for r in self._recorders:
            r.pushed(products, latency_s)

    def pulled(self, products: int, via: str) -> None:
        """Pass on."""
        for pulled in self._pulled:
            pulled(products, via)

    def sync_failed(self, products: int) -> None:
        """Pass on."""
        for r in self._recorders:
            r.sync_failed(products)

    def shopify_call(self, operation: str, outcome: str, duration_s: float) -> None:
        """Pass on."""
        for r in self._recorders:
            r.shopify_call(operation, outcome, duration_s)

    def shopify_cost(self, points: float, available: float | None) -> None:
        """Pass on."""
        for r in self._recorders:
            r.shopify_cost(points, available)

    def shopify_waited(self, seconds: float) -> None:
        """Pass on."""
        for r in self._recorders:
            r.shopify_waited(seconds)

    def outage_pause(self, on: bool) -> None:
        """Pass on."""
        for r in self._recorders:
            r.outage_pause(on)

    def token_renewed(self, outcome: str) -> None:
        """Pass on."""
        for r in self._recorders:
            r.token_renewed(outcome)

    def sign_in(self, outcome: str) -> None:
        """Pass on."""
        for r in self._recorders:
            r.sign_in(outcome)

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
        """Pass on."""
        for r in self._recorders:
            r.reconciled(
                ok=ok, duration_s=duration_s, checked=checked, pushed=pushed, pulled=pulled,
                failed=failed,
            )  # fmt: skip
