"""Alert delivery per channel, with the real senders: a webhook receiver over HTTP that fails,
and e-mail to a local SMTP server (a small stub in this file) that works, on a migrated
SQLite database; each channel is told each start and clearing once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shopify_sync import bootstrap
from shopify_sync.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from shopify_sync.config import Settings, load_settings
from shopify_sync.domain.alerts import Thresholds
from shopify_sync.domain.model import SyncFailure, WebhookSubscription
from shopify_sync.entrypoints.worker import Worker
from shopify_sync.services.alerts import Watch, check_alerts
from shopify_sync.services.ports import AlertSender
from shopify_sync.services.sync.report import SyncPolicy
from shopify_sync.simulator.testing import run_app_in_thread
from shopify_sync.types import ProductId
from tests.conftest import migrated_engine
from tests.fakes import FakeClock, FakeStoreClient
from tests.integration.service.stack import running_stack, wait_for

pytestmark = pytest.mark.anyio
TTL = timedelta(minutes=2)


@dataclass
class Receiver:
    """A webhook receiver: answers 500 while ``failing``, 200 after; records each POST."""

    url: str = ""
    failing: bool = True
    posts: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


@pytest.fixture(name="receiver")
def _receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    async def hook(request: Request) -> Response:
        status = 500 if receiver.failing else 200
        receiver.posts.append((status, await request.json()))
        return Response(status_code=status)

    with run_app_in_thread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        receiver.url = f"{url}/hook"
        yield receiver


async def _smtp_session(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mails: list[bytes]
) -> None:
    """Just enough SMTP for ``smtplib``: every command accepted, each DATA kept."""
    writer.write(b"220 stub ESMTP\r\n")
    lines: list[bytes] | None = None
    while line := await reader.readline():
        if lines is not None:
            if line == b".\r\n":
                mails.append(b"".join(lines))
                lines = None
                writer.write(b"250 queued\r\n")
            else:
                lines.append(line[1:] if line.startswith(b"..") else line)
        elif line[:4].upper() == b"EHLO":
            writer.write(b"250-stub\r\n250 8BITMIME\r\n")
        elif line[:4].upper() == b"DATA":
            lines = []
            writer.write(b"354 end with .\r\n")
        elif line[:4].upper() == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 ok\r\n")
        await writer.drain()
    writer.close()


@pytest.fixture(name="smtp")
async def _smtp() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A local SMTP server on this event loop; yields its port and the mails it took."""
    mails: list[bytes] = []
    server = await asyncio.start_server(lambda r, w: _smtp_session(r, w, mails), "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], mails


def alert_settings(tmp_path: Path, receiver: Receiver, smtp_port: int, **extra: str) -> Settings:
    """Settings with both channels: the receiver (generic JSON) and the SMTP stub."""
    return load_settings(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'alerts.db'}",
            "SHOPIFY_STORE_DOMAIN": "demo.myshopify.com",
            "SHOPIFY_ACCESS_TOKEN": "shpat_test_token",
            "SHOPIFY_WEBHOOK_SECRET": "hush",
            "SHOPIFY_LOCATION_ID": "1",
            "SYNC_API_TOKEN": "test-api-token-1",
            "ALERT_WEBHOOK_URL": receiver.url,
            "ALERT_WEBHOOK_FORMAT": "json",
            "ALERT_EMAIL_TO": "ops@example.com",
            "ALERT_EMAIL_FROM": "sync@example.com",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SMTP_STARTTLS": "false",
            **extra,
        },
        env_file=None,
    )


def subscribed_store(clock: FakeClock) -> FakeStoreClient:
    """Shopify with both webhook subscriptions (so that only the parked product alerts)."""
    store = FakeStoreClient(clock)
    store.subscribed = [
        WebhookSubscription("1", "inventory_levels/update", "https://x.example/a"),
        WebhookSubscription("2", "orders/create", "https://x.example/b"),
    ]
    return store


async def park(engine: AsyncEngine, clock: FakeClock) -> None:
    """A linked product P1 whose sync was given up on (parked)."""
    async with engine.begin() as c:
        await c.execute(
            text(
                "INSERT INTO product_inventory (product_id, sku, b2c_stock, b2b_stock,"
                " shopify_variant_id, shopify_inventory_item_id, sync_enabled)"
                " VALUES ('P1', 'SKU-1', 5, 100, '11', 22, true)"
            )
        )
    async with SqlUnitOfWorkFactory(engine)() as unit:
        await unit.products.record_failures(
            [SyncFailure(ProductId("P1"), "refused", None)], clock.now()
        )
        await unit.commit()


async def monitor_until_told(
    c: bootstrap.Container, receiver: Receiver, mails: list[bytes]
) -> None:
    """Run the worker's monitoring loop until both channels were sent something (up to a
    minute; the first check is due after ``ALERT_CHECK_INTERVAL_SECONDS``), then stop it."""
    worker = Worker(c)
    loop = asyncio.create_task(worker._monitor_loop())
    for _ in range(600):
        if receiver.posts and mails:
            break
        await asyncio.sleep(0.1)
    worker._stopping.set()
    await loop


async def test_a_failed_webhook_channel_is_retried_alone_and_each_channel_told_once(
    tmp_path: Path, receiver: Receiver, smtp: tuple[int, list[bytes]]
) -> None:
    """A product parked: e-mail is delivered and the webhook receiver fails (three tries);
    the next check, by another process, posts the start to the receiver only; the clearing
    then reaches each channel once, and later checks send nothing."""
    port, mails = smtp
    settings = alert_settings(tmp_path, receiver, port)
    clock = FakeClock()  # the senders' waits between tries pass at once
    store = subscribed_store(clock)
    watch = Watch(Thresholds(), timedelta(minutes=5), clock.now(), None)
    async with (
        migrated_engine(settings.database_url) as engine,
        httpx.AsyncClient() as http,
    ):
        uow = SqlUnitOfWorkFactory(engine)
        sender = bootstrap.alert_sender(settings, http, clock)
        other = bootstrap.alert_sender(settings, http, clock)  # another process's
        assert sender is not None and other is not None

        async def check(holder: str, channels: AlertSender) -> None:
            await check_alerts(holder, uow, store, clock, channels, watch, None, TTL)

        await park(engine, clock)

        await check("process-a", sender)
        failed_posts, mails_then = len(receiver.posts), len(mails)
        receiver.failing = False
        await check("process-b", other)
        await check("process-a", sender)
        async with uow() as unit:
            await unit.products.clear_failure(["P1"], clock.now())
            await unit.commit()
        await check("process-a", sender)
        await check("process-b", other)

    assert (failed_posts, mails_then) == (3, 1)
    assert [(status, body["condition"], body["state"]) for status, body in receiver.posts] == [
        (500, "products_parked", "started"),
        (500, "products_parked", "started"),
        (500, "products_parked", "started"),
        (200, "products_parked", "started"),
        (200, "products_parked", "cleared"),
    ]
    assert [message_from_bytes(m)["Subject"] for m in mails] == [
        "shopify-sync (demo.myshopify.com): ALERT: products parked",
        "shopify-sync (demo.myshopify.com): cleared: products parked",
    ]


async def test_the_worker_checks_the_alerts_and_stores_the_figures(
    tmp_path: Path, receiver: Receiver, smtp: tuple[int, list[bytes]]
) -> None:
    """The worker's monitoring loop, also waking just before the dashboard's interval ends,
    still checks the alerts at their interval: the parked product reaches each channel
    once, and a delivery counted before is stored in the dashboard's figures."""
    port, mails = smtp
    receiver.failing = False
    settings = alert_settings(tmp_path, receiver, port, ALERT_CHECK_INTERVAL_SECONDS="5")
    clock = FakeClock(datetime(2026, 5, 1, 10, 4, 58, tzinfo=UTC))  # 2 s before a boundary
    async with migrated_engine(settings.database_url) as engine, httpx.AsyncClient() as http:
        c = bootstrap.assemble(settings, engine, subscribed_store(clock), clock, SyncPolicy())
        try:
            c.alerts = bootstrap.alert_sender(settings, http, clock)
            await park(engine, clock)
            assert c.history is not None
            c.history.webhook("inventory_levels/update", "applied", 1.5)
            await monitor_until_told(c, receiver, mails)
            async with c.uow() as unit:
                stored = await unit.history.since(clock.now() - timedelta(hours=1))
        finally:
            await c.aclose()

    assert [(body["condition"], body["state"]) for _, body in receiver.posts] == [
        ("products_parked", "started")
    ]
    assert len(mails) == 1
    assert ("webhooks", 1.0) in [(name, value) for _, name, value in stored]


async def test_with_metrics_off_a_long_outage_pause_still_alerts(
    tmp_path: Path, receiver: Receiver, smtp: tuple[int, list[bytes]]
) -> None:
    """METRICS_ENABLED=false counts nothing, yet the worker's check still sees the outage
    pause the Shopify client reports and sends outage_pause_long once it lasts too long."""
    port, mails = smtp
    receiver.failing = False
    settings = alert_settings(
        tmp_path, receiver, port,
        ALERT_CHECK_INTERVAL_SECONDS="5", ALERT_OUTAGE_MINUTES="1", METRICS_ENABLED="false",
    )  # fmt: skip
    clock = FakeClock(datetime(2026, 5, 1, 10, 0, tzinfo=UTC))
    async with migrated_engine(settings.database_url) as engine, httpx.AsyncClient() as http:
        c = bootstrap.assemble(settings, engine, subscribed_store(clock), clock, SyncPolicy())
        try:
            c.alerts = bootstrap.alert_sender(settings, http, clock)
            c.metrics.outage_pause(True)
            clock.advance(120)
            await monitor_until_told(c, receiver, mails)
        finally:
            await c.aclose()

    assert c.history is None
    assert [(body["condition"], body["state"]) for _, body in receiver.posts] == [
        ("outage_pause_long", "started")
    ]


def test_a_receiver_that_hangs_delays_no_sync(database_url: str) -> None:
    """While the alert receiver holds the start of webhook_subscription_missing (orders/create
    is not subscribed) unanswered, a B2B change is pushed to Shopify and a merchant's edit
    comes in by webhook as usual."""
    release = threading.Event()
    posted: list[dict[str, Any]] = []

    async def hang(request: Request) -> Response:
        posted.append(await request.json())
        await asyncio.to_thread(release.wait)
        return Response(status_code=200)

    hook = Starlette(routes=[Route("/hook", hang, methods=["POST"])])
    with (
        run_app_in_thread(hook, wait_on_exit=False) as receiver,
        running_stack(
            database_url,
            ALERT_WEBHOOK_URL=f"{receiver}/hook",
            ALERT_WEBHOOK_FORMAT="json",
            ALERT_CHECK_INTERVAL_SECONDS="5",
            SHUTDOWN_GRACE_SECONDS="1",
        ) as stack,
    ):
        try:
            created = stack.graphql(
                "mutation($s: WebhookSubscriptionInput!) { webhookSubscriptionCreate("
                "topic: INVENTORY_LEVELS_UPDATE, webhookSubscription: $s) {"
                " userErrors { message } } }",
                {"s": {"uri": f"{stack.service}/webhooks/inventory-update", "format": "JSON"}},
            )
            assert created["data"]["webhookSubscriptionCreate"]["userErrors"] == []
            stack.link("p1", "SKU-000001", b2c=40)
            wait_for(lambda: bool(posted), timeout_s=30, what="the alert posted")
            pushed = stack.api("POST", "/sync/p1")
            stack.sim("POST", "/merchant/adjust", json={"sku": "SKU-000001", "delta": 5})
            wait_for(lambda: stack.ours("p1") == (45, 45), what="the merchant's edit")
            shopify = stack.available("SKU-000001")
        finally:
            release.set()

    # (A slow machine may see the sender time out and post it again: the same start.)
    assert {(body["condition"], body["state"]) for body in posted} == {
        ("webhook_subscription_missing", "started")
    }
    assert pushed.status_code == 200 and shopify == 45
