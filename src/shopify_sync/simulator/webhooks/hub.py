"""Background webhook delivery like Shopify's: signed, retried with backoff, then given up.

Each event becomes one delivery per matching subscription. Deliveries to one subscription are
sent one after another (so a "reorder" fault is observable); different subscriptions proceed
in parallel. A failed attempt (non-2xx, timeout, connection error) is retried on Shopify's
schedule of 8 attempts over 4 hours, scaled by `webhook_retry_scale`; after the last one the
subscription is deleted, as Shopify does for subscriptions made through the Admin API.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import tzinfo
from typing import Any, Literal

import httpx
import orjson

from shopify_sync.simulator.clock import Clock
from shopify_sync.simulator.events import Event
from shopify_sync.simulator.gql.connection import parse_search, term_matches
from shopify_sync.simulator.model import Subscription
from shopify_sync.simulator.store import Store
from shopify_sync.simulator.timefmt import iso_precise
from shopify_sync.simulator.webhooks.payloads import body_of, topic_of

RETRY_DELAYS_S: tuple[float, ...] = (115.0, 230.0, 460.0, 920.0, 1840.0, 3680.0, 7155.0)
"""Waits after failed attempts 1..7: 8 attempts spread over 4 hours (14,400 s)."""
MAX_ATTEMPTS = len(RETRY_DELAYS_S) + 1
HISTORY_LIMIT = 20_000
POLL_S = 0.02

Action = Literal["drop", "duplicate", "delay", "hold", "reorder"]


def sign(body: bytes, secret: str) -> str:
    """`X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of the exact body bytes."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(slots=True)
class Delivery:
    """One webhook to one subscription, with every attempt made so far."""

    seq: int
    webhook_id: str
    event_id: str
    topic: str
    subscription_id: int
    address: str
    api_version: str
    name: str | None
    body: bytes
    triggered_at: str
    due_at: float
    status: str = "pending"
    """pending, held, retrying, delivered, failed, dropped, unsupported"""
    attempts: list[dict[str, Any]] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)

    def headers(self, shop: str, secret: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Hmac-Sha256": sign(self.body, secret),
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Event-Id": self.event_id,
            "X-Shopify-Triggered-At": self.triggered_at,
        }
        if self.name:
            headers["X-Shopify-Name"] = self.name
        return headers

    def as_json(self) -> dict[str, Any]:
        return {
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "topic": self.topic,
            "subscription_id": self.subscription_id,
            "address": self.address,
            "api_version": self.api_version,
            "triggered_at": self.triggered_at,
            "status": self.status,
            "attempts": self.attempts,
            "faults": self.faults,
            "payload": orjson.loads(self.body),
        }


@dataclass(slots=True)
class WebhookRule:
    """A webhook fault for the next `remaining` deliveries (of `topic`, if given)."""

    action: Action
    remaining: int
    topic: str | None = None
    delay_s: float = 0.0
    collected: list[Delivery] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "remaining": self.remaining,
            "topic": self.topic,
            "delay_s": self.delay_s,
        }


class WebhookHub:
    """Turns store events into deliveries and sends them from a background task."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        zone: tzinfo,
        *,
        shop: str,
        secret: str,
        retry_scale: float,
        timeout_s: float,
    ) -> None:
        self.store = store
        self.clock = clock
        self.zone = zone
        self.shop = shop
        self.secret = secret
        self.retry_scale = retry_scale
        self.timeout_s = timeout_s
        self.deliveries: list[Delivery] = []
        self.pending: list[Delivery] = []
        self.held: list[Delivery] = []
        self.rules: list[WebhookRule] = []
        self._seq = 0
        self._busy: set[int] = set()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._lanes: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        store.subscribe(self.on_event)

    def bind(self, store: Store) -> None:
        """Follow a new store (after a reset or a load)."""
        self.store = store
        store.subscribe(self.on_event)

    # --- producing deliveries -------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        topic = topic_of(event)
        event_id = str(uuid.uuid4())
        triggered_at = iso_precise(self.clock.time())
        for sub in list(self.store.subscriptions.values()):
            if sub.topic != topic:
                continue
            payload = body_of(event, self.store, self.zone, sub.api_version)
            if not _filter_matches(sub, payload):
                continue
            if sub.include_fields:
                payload = {k: v for k, v in payload.items() if k in sub.include_fields}
            self._seq += 1
            delivery = Delivery(
                seq=self._seq,
                webhook_id=str(uuid.uuid4()),
                event_id=event_id,
                topic=topic,
                subscription_id=sub.id,
                address=sub.address,
                api_version=sub.api_version,
                name=sub.name,
                body=orjson.dumps(payload),
                triggered_at=triggered_at,
                due_at=self.clock.monotonic(),
            )
            self._enqueue(delivery)
        self._poke()

    def _rule_for(self, topic: str) -> WebhookRule | None:
        for rule in self.rules:
            if rule.remaining > 0 and (rule.topic is None or rule.topic == topic):
                return rule
        return None

    def _record(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if len(self.deliveries) > HISTORY_LIMIT:
            del self.deliveries[: len(self.deliveries) - HISTORY_LIMIT]

    def _enqueue(self, delivery: Delivery) -> None:
        self._record(delivery)
        if not delivery.address.startswith(("http://", "https://")):
            delivery.status = "unsupported"
            return
        rule = self._rule_for(delivery.topic)
        if rule is not None:
            rule.remaining -= 1
            delivery.faults.append(rule.action)
            if rule.action == "drop":
                delivery.status = "dropped"
                return
            if rule.action == "delay":
                delivery.due_at += rule.delay_s
            elif rule.action == "duplicate":
                self._seq += 1
                twin = replace(delivery, seq=self._seq, attempts=[], faults=["duplicate"])
                self._record(twin)
                self.pending.append(twin)
            elif rule.action in ("hold", "reorder"):
                delivery.status = "held"
                rule.collected.append(delivery)
                self.held.append(delivery)
                if rule.action == "reorder" and rule.remaining == 0:
                    self.release([d.webhook_id for d in reversed(rule.collected)])
                return
        self.pending.append(delivery)

    def release(self, order: list[str] | Literal["fifo", "reverse", "shuffle"] = "fifo") -> int:
        """Send held deliveries now, in the given order (webhook ids, or a named order)."""
        held = list(self.held)
        if isinstance(order, list):
            by_id = {d.webhook_id: d for d in held}
            chosen = [by_id[i] for i in order if i in by_id]
        elif order == "reverse":
            chosen = held[::-1]
        elif order == "shuffle":
            chosen = held[:]
            random.shuffle(chosen)
        else:
            chosen = held
        now = self.clock.monotonic()
        for delivery in chosen:
            self.held.remove(delivery)
            self._seq += 1
            delivery.seq = self._seq
            delivery.status = "pending"
            delivery.due_at = now
            self.pending.append(delivery)
        self._poke()
        return len(chosen)

    def clear_faults(self) -> None:
        self.rules.clear()

    # --- sending --------------------------------------------------------------------------

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=self.timeout_s)
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._lanes) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            self._dispatch_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_S)
            self._wake.clear()

    def _dispatch_due(self) -> None:
        now = self.clock.monotonic()
        lanes: dict[int, list[Delivery]] = {}
        for delivery in sorted(self.pending, key=lambda d: (d.due_at, d.seq)):
            if delivery.due_at <= now and delivery.subscription_id not in self._busy:
                lanes.setdefault(delivery.subscription_id, []).append(delivery)
        for lane, batch in lanes.items():
            self._busy.add(lane)
            task = asyncio.create_task(self._send_lane(lane, batch))
            self._lanes.add(task)
            task.add_done_callback(self._lanes.discard)

    async def _send_lane(self, lane: int, batch: list[Delivery]) -> None:
        try:
            for delivery in batch:
                await self._attempt(delivery)
        finally:
            self._busy.discard(lane)
            self._poke()

    async def _attempt(self, delivery: Delivery) -> None:
        assert self._client is not None
        status: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(
                delivery.address,
                content=delivery.body,
                headers=delivery.headers(self.shop, self.secret),
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        delivery.attempts.append(
            {"at": iso_precise(self.clock.time()), "status": status, "error": error}
        )
        if status is not None and 200 <= status < 300:
            delivery.status = "delivered"
            self._forget(delivery)
            return
        if len(delivery.attempts) >= MAX_ATTEMPTS:
            delivery.status = "failed"
            self._forget(delivery)
            self._remove_subscription(delivery.subscription_id)
            return
        delivery.status = "retrying"
        wait_s = RETRY_DELAYS_S[len(delivery.attempts) - 1] * self.retry_scale
        delivery.due_at = self.clock.monotonic() + wait_s

    def _forget(self, delivery: Delivery) -> None:
        with contextlib.suppress(ValueError):
            self.pending.remove(delivery)

    def _remove_subscription(self, sub_id: int) -> None:
        self.store.subscriptions.pop(sub_id, None)
        for other in [d for d in self.pending if d.subscription_id == sub_id]:
            other.status = "failed"
            other.faults.append("subscription removed")
            self.pending.remove(other)


def _filter_matches(sub: Subscription, payload: dict[str, Any]) -> bool:
    groups = parse_search(sub.filter)
    if not groups:
        return True
    return any(
        all(
            term.field is not None and term_matches(term, payload.get(term.field)) for term in group
        )
        for group in groups
    )
