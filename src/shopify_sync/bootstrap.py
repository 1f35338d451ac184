"""Composition root: builds the real adapters from Settings and wires the use cases.

Only entrypoints import this module. Nothing is built at import time.
"""

from __future__ import annotations

import functools
import logging
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from shopify_sync.adapters.alerting import AlertChannels, SmtpAlertSender, WebhookAlertSender
from shopify_sync.adapters.clock import SystemClock
from shopify_sync.adapters.db.engine import create_engine
from shopify_sync.adapters.db.failure import shown
from shopify_sync.adapters.db.level_store import create_level_store
from shopify_sync.adapters.db.migrate import (
    current_revision,
    head_revision,
    readiness_problem,
    upgrade_engine,
    upgrade_url,
)
from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.adapters.prometheus import PrometheusMetrics
from shopify_sync.adapters.shopify.auth import AccessTokens, ClientCredentials, StaticToken
from shopify_sync.adapters.shopify.client import ShopifyClient
from shopify_sync.adapters.shopify.unconfigured import UnconfiguredStore
from shopify_sync.adapters.shopify.webhooks import ShopifyWebhookDecoder
from shopify_sync.config import Settings, required
from shopify_sync.domain.allocation import DEFAULT_ALLOCATION, Allocation
from shopify_sync.errors import ConfigError, StorageError
from shopify_sync.services import setup
from shopify_sync.services.doctor import Doctor
from shopify_sync.services.engine import SyncEngine
from shopify_sync.services.history import HistoryRecorder
from shopify_sync.services.ingest import LevelIngest
from shopify_sync.services.monitoring import MetricsFanOut, OutageWatch, StatesReader
from shopify_sync.services.ports import (
    AlertSender,
    Clock,
    LevelStore,
    Metrics,
    MetricsPage,
    StoreClient,
    UnitOfWorkFactory,
    WebhookDecoder,
)
from shopify_sync.services.sync.report import SyncPolicy
from shopify_sync.services.webhook_health import RefusalCounter
from shopify_sync.types import LocationId

HTTP_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=10.0)
HTTP_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10)
IDEMPOTENT_FROM = "2026-01"
"""The first Admin API version with the ``@idempotent`` directive."""


@dataclass
class Container:
    """Everything a running process needs, built once from Settings."""

    settings: Settings
    uow: UnitOfWorkFactory
    store: StoreClient
    clock: Clock
    engine: SyncEngine
    webhooks: WebhookDecoder
    levels: LevelStore
    """The webhook hot path's store; ``ingest`` batches deliveries onto it."""
    ingest: LevelIngest
    metrics: Metrics
    """Where the sync counts what it does (only the outage pause when metrics are off)."""
    metrics_page: MetricsPage | None
    """Renders ``/metrics``; None when metrics are off."""
    history: HistoryRecorder | None
    """The dashboard's per-interval figures, flushed by the worker; None when metrics are off."""
    outage: OutageWatch
    """Since when calls to Shopify are paused (the outage alert, the dashboard), metrics on
    or off."""
    states: StatesReader
    """The products' states for scrapes and the dashboard, cached briefly."""
    ready: Callable[[], Awaitable[str | None]]
    """Why the process cannot take traffic (database unreachable or not migrated), or None."""
    refusals: RefusalCounter
    """Webhook deliveries refused before they were trusted, counted into the database."""
    default_allocation: Allocation = DEFAULT_ALLOCATION
    """The allocation of a product without its own (the settings'), for the use cases that
    show or change allocations; the engine has the same in its ``SyncPolicy``."""
    alerts: AlertSender | None = None
    """Where alerts go (``ALERT_WEBHOOK_URL``, e-mail); None when no channel is configured."""
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}")
    _closers: list[object] = field(default_factory=list)
    _location_ok: bool = False
    _location_problem: ConfigError | None = None

    async def check_location(self) -> None:
        """Check once per process that ``SHOPIFY_LOCATION_ID`` names an active location of
        the store (one ``location(id)`` read, then remembered).

        Raises:
            ConfigError: it does not (names the variable and ``shopify-sync locations``).
            StoreError: Shopify could not answer; nothing is remembered, so the next call asks.
        """
        if self._location_ok:
            return
        location = required(self.settings.shopify_location_id, "SHOPIFY_LOCATION_ID")
        problem = await setup.location_problem(self.store, location)
        if problem is not None:
            self._location_problem = ConfigError(
                "SHOPIFY_LOCATION_ID",
                f"{problem}; `shopify-sync locations` lists the store's locations and their ids",
            )
            raise self._location_problem
        self._location_problem = None
        self._location_ok = True

    def refuse_wrong_location(self) -> None:
        """Raise what the last ``check_location`` found wrong, if anything (asks Shopify
        nothing: for request paths; ``serve`` and the worker keep checking until it passes).

        Raises:
            ConfigError: the last check found the location missing or inactive.
        """
        if self._location_problem is not None:
            raise self._location_problem

    async def aclose(self) -> None:
        """Finish the webhook batches taken, record the refusals counted, then close
        connection pools."""
        await self.ingest.aclose()
        await self.refusals.flush()
        await self.levels.aclose()
        for closer in reversed(self._closers):
            if isinstance(closer, httpx.AsyncClient):
                await closer.aclose()
            else:
                await closer.dispose()  # type: ignore[attr-defined]  # an AsyncEngine
        self._closers.clear()


async def build(
    settings: Settings,
    *,
    migrate: bool | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Container:
    """Build the container: database engine (migrated unless told not to), Shopify client.

    Args:
        settings: validated settings.
        migrate: apply migrations first (default: ``settings.auto_migrate``).
        transport: an httpx transport for tests (``httpx.MockTransport``); real HTTP otherwise.
    """
    if settings.shopify_api_version < IDEMPOTENT_FROM:
        structlog.get_logger(__name__).warning(
            "API version without idempotent writes",
            version=settings.shopify_api_version,
            detail="a write whose answer is lost is protected by compare-and-set only; "
            f"set SHOPIFY_API_VERSION to {IDEMPOTENT_FROM} or later for exactly-once writes",
        )
    engine = create_engine(settings.database_url)
    if settings.auto_migrate if migrate is None else migrate:
        await upgrade_engine(engine)
    clock = SystemClock()
    watch = monitoring(settings, clock)
    http = httpx.AsyncClient(timeout=HTTP_TIMEOUT, limits=HTTP_LIMITS, transport=transport)
    store = _store(settings, http, clock, watch.metrics)
    policy = SyncPolicy(
        initial_source=settings.initial_source,
        default_allocation=settings.default_allocation,
        max_attempts=settings.sync_max_attempts,
        backoff_base_s=settings.sync_retry_base_s,
    )
    container = assemble(settings, engine, store, clock, policy, watch=watch)
    container.alerts = alert_sender(settings, http, clock)
    container._closers.append(http)
    return container


def _store(
    settings: Settings, http: httpx.AsyncClient, clock: Clock, metrics: Metrics
) -> StoreClient:
    """The Shopify client, or one that refuses every call when the command loaded no
    Shopify settings (``products list``, ``log``...)."""
    try:
        domain = required(settings.shopify_store_domain, "SHOPIFY_STORE_DOMAIN")
        tokens = _tokens(settings, domain, http, clock, metrics)
    except ConfigError as missing:
        return UnconfiguredStore(missing)
    return ShopifyClient(
        settings.shopify_admin_url or f"https://{domain}",
        settings.shopify_api_version,
        tokens,
        settings.shopify_location_id,
        http=http,
        clock=clock,
        max_attempts=settings.shopify_max_attempts,
        outage_pause_s=settings.shopify_outage_pause_s,
        metrics=metrics,
    )


def _tokens(
    settings: Settings,
    domain: str,
    http: httpx.AsyncClient,
    clock: Clock,
    metrics: Metrics,
) -> AccessTokens:
    """Client credentials (a Dev Dashboard app) or the static token (an admin-created app).

    Raises:
        ConfigError: neither is set (the command did not load ``Need.SHOPIFY``).
    """
    if settings.uses_client_credentials:
        return ClientCredentials(
            settings.shopify_admin_url or f"https://{domain}",
            domain,
            required(settings.shopify_client_id, "SHOPIFY_CLIENT_ID"),
            required(settings.shopify_client_secret, "SHOPIFY_CLIENT_SECRET"),
            http=http,
            clock=clock,
            metrics=metrics,
        )
    return StaticToken(required(settings.shopify_access_token, "SHOPIFY_ACCESS_TOKEN"), domain)


def assemble(
    settings: Settings,
    engine: AsyncEngine,
    store: StoreClient,
    clock: Clock,
    policy: SyncPolicy,
    *,
    watch: Monitoring | None = None,
) -> Container:
    """Wire the use cases over a database engine and a Shopify client (``build`` makes
    real ones; tests pass fakes). The container disposes of ``engine`` when closed.

    ``watch`` holds the recorders the Shopify client already counts into; they are made
    here when none were given."""
    if watch is None:
        watch = monitoring(settings, clock)
    uow = SqlUnitOfWorkFactory(engine)
    current, previous = (
        settings.webhook_secrets
        if settings.shopify_webhook_secret or settings.shopify_client_secret
        else (None, None)
    )
    levels = create_level_store(uow, settings.database_url)
    container = Container(
        settings=settings,
        uow=uow,
        store=store,
        clock=clock,
        engine=SyncEngine(uow, store, clock, policy, metrics=watch.metrics),
        webhooks=ShopifyWebhookDecoder(
            [] if current is None else [current.get_secret_value()],
            previous=None if previous is None else previous.get_secret_value(),
        ),
        levels=levels,
        # Without a location no delivery reaches the ingest: only `serve` verifies webhooks,
        # and it loads every setting.
        ingest=LevelIngest(levels, clock, settings.shopify_location_id or LocationId(0)),
        metrics=watch.metrics,
        metrics_page=watch.page,
        history=watch.history,
        outage=watch.outage,
        states=StatesReader(uow, clock),
        ready=functools.partial(readiness_problem, engine),
        refusals=RefusalCounter(uow, clock),
        default_allocation=policy.default_allocation,
    )
    container._closers.append(engine)
    return container


@dataclass(frozen=True)
class Monitoring:
    """The recorders a process counts into: Prometheus' and the dashboard's history, both
    fed through ``metrics``, all off with ``METRICS_ENABLED=false``; and the outage pause's
    start (``outage``), which the alerts and the dashboard need either way."""

    metrics: Metrics
    page: MetricsPage | None
    history: HistoryRecorder | None
    outage: OutageWatch


def monitoring(settings: Settings, clock: Clock) -> Monitoring:
    """The recorders for ``settings``."""
    outage = OutageWatch(clock)
    if not settings.metrics_enabled:
        return Monitoring(outage, None, None, outage)
    prometheus = PrometheusMetrics(clock)
    history = HistoryRecorder(clock)
    return Monitoring(MetricsFanOut(prometheus, history, outage), prometheus, history, outage)


async def prepare_database(settings: Settings) -> None:
    """Open the database once before serving: migrate it (``AUTO_MIGRATE``) or check that it
    is at this version's schema, so that a bad ``DATABASE_URL`` stops start-up in one line.

    Raises:
        StorageError: the database cannot be opened or reached, or is not migrated.
    """
    engine = create_engine(settings.database_url)
    try:
        if settings.auto_migrate:
            await upgrade_engine(engine)
            return
        at, head = await current_revision(engine), head_revision()
        if at != head:
            raise StorageError(
                f"the database {shown(settings.database_url)} is at schema revision "
                f"{at or 'none'}, this version needs {head}: run `shopify-sync db upgrade` "
                "(AUTO_MIGRATE is false)"
            )
    finally:
        await engine.dispose()


def alert_sender(settings: Settings, http: httpx.AsyncClient, clock: Clock) -> AlertSender | None:
    """The configured alert channels, or None when there is none.

    Raises:
        ConfigError: e-mail is half configured (recipients without a server or a sender).
    """
    shop = settings.shopify_store_domain or "shop not set"
    senders: list[AlertSender] = []
    if settings.alert_webhook_url is not None:
        senders.append(
            WebhookAlertSender(
                settings.alert_webhook_url.get_secret_value(),
                settings.alert_webhook_format,
                shop,
                http=http,
                clock=clock,
            )
        )
    if settings.alert_email_to:
        host = required(settings.smtp_host, "SMTP_HOST")
        sender = required(settings.alert_email_from, "ALERT_EMAIL_FROM")
        senders.append(
            SmtpAlertSender(
                host,
                settings.smtp_port,
                sender,
                [a.strip() for a in settings.alert_email_to.split(",")],
                shop,
                clock=clock,
                username=settings.smtp_username,
                password=None
                if settings.smtp_password is None
                else settings.smtp_password.get_secret_value(),
                starttls=settings.smtp_starttls,
            )
        )
    return AlertChannels(senders) if senders else None


def doctor_for(c: Container, address: str | None = None) -> Doctor:
    """The checks of this process's configuration (``address`` overrides ``PUBLIC_URL``)."""
    settings = c.settings
    credentials = (
        f"client credentials of app {settings.shopify_client_id}"
        if settings.uses_client_credentials
        else "access token (SHOPIFY_ACCESS_TOKEN)"
    )
    return Doctor(
        store=c.store,
        uow=c.uow,
        clock=c.clock,
        database_problem=c.ready,
        credentials=credentials,
        api_version=settings.shopify_api_version,
        location_id=settings.shopify_location_id,
        address=address if address is not None else settings.public_url,
        reconcile_interval_s=settings.reconcile_interval_s,
    )


def upgrade_database(url: str, revision: str = "head") -> None:
    """Apply the migrations to the database at ``url`` (blocking; outside an event loop)."""
    upgrade_url(url, revision)


def configure_logging(
    level: str = "INFO", *, json_logs: bool | None = None, enabled: bool = True
) -> None:
    """Structured logs on stderr: key=value on a terminal, JSON lines otherwise; nothing at
    all when not ``enabled`` (a command's output stays its table and its one-line error)."""
    if json_logs is None:
        json_logs = not sys.stderr.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json_logs
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelName(level) if enabled else logging.CRITICAL
        ),
        logger_factory=(
            structlog.PrintLoggerFactory(file=sys.stderr)
            if enabled
            else structlog.ReturnLoggerFactory()  # renders nothing anywhere
        ),
        cache_logger_on_first_use=True,
    )
