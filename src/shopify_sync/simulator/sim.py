"""The simulator's composition root: one shop's state plus every service around it."""

from __future__ import annotations

import json
from typing import Any

from shopify_sync.simulator import catalogue, persistence
from shopify_sync.simulator.auth import Auth
from shopify_sync.simulator.bucket import LeakyBucket
from shopify_sync.simulator.bulk import BulkManager
from shopify_sync.simulator.clock import Clock
from shopify_sync.simulator.config import SimulatorConfig
from shopify_sync.simulator.faults import ApiFaults
from shopify_sync.simulator.gql.context import RequestContext
from shopify_sync.simulator.gql.document import DocumentCache
from shopify_sync.simulator.gql.idempotency import IdempotencyStore
from shopify_sync.simulator.store import Store
from shopify_sync.simulator.timefmt import shop_zone
from shopify_sync.simulator.versions import VersionRules
from shopify_sync.simulator.webhooks.hub import WebhookHub


class Simulator:
    """Everything one running simulator holds; the ASGI app keeps one in `app.state`."""

    def __init__(self, config: SimulatorConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.zone = shop_zone(config.timezone)
        self.documents = DocumentCache()
        self.faults = ApiFaults()
        self.auth = Auth(
            clock,
            static_token=config.access_token,
            client_id=config.client_id,
            client_secret=config.client_secret,
            lifetime_s=config.token_lifetime_s,
            scopes=config.scopes,
        )
        self.keys = IdempotencyStore()
        limits = config.limits
        self.graphql_bucket = LeakyBucket(
            limits.graphql_bucket, limits.graphql_restore_per_s, clock
        )
        self.rest_bucket = LeakyBucket(float(limits.rest_bucket), limits.rest_leak_per_s, clock)
        self.store = self.initial_store(use_state_file=True)
        self.bulk = BulkManager(lambda: self.store, self.documents)
        self.bulk.context_factory = self.context
        self.hub = WebhookHub(
            self.store,
            clock,
            self.zone,
            shop=config.shop,
            secret=config.webhook_secret,
            retry_scale=config.webhook_retry_scale,
            timeout_s=config.webhook_timeout_s,
        )

    def initial_store(self, *, use_state_file: bool) -> Store:
        """A store from the state file when there is one, else generated and seeded."""
        store = Store(self.config.shop, self.clock)
        state_file = self.config.state_file
        if use_state_file and state_file is not None and state_file.exists():
            persistence.load(store, json.loads(state_file.read_text(encoding="utf-8")))
            return store
        catalogue.generate(store, self.config)
        if self.config.seed_file is not None:
            catalogue.load_seed_file(store, self.config.seed_file)
        return store

    def context(self, rules: VersionRules, base_url: str) -> RequestContext:
        return RequestContext(
            store=self.store,
            rules=rules,
            zone=self.zone,
            base_url=base_url,
            bulk=self.bulk,
            keys=self.keys,
            plan=self.config.plan,
            scopes=self.auth.scopes,
        )

    def replace_store(self, store: Store) -> None:
        self.store = store
        self.hub.bind(store)

    def reset(self) -> None:
        """Back to the configured initial catalogue: no orders, subscriptions, keys or faults."""
        self.replace_store(self.initial_store(use_state_file=False))
        self.keys = IdempotencyStore()
        self.faults.clear()
        self.hub.clear_faults()
        self.hub.deliveries.clear()
        self.hub.pending.clear()
        self.hub.held.clear()
        self.bulk.operations.clear()
        self.graphql_bucket.set_available(self.graphql_bucket.capacity)
        self.rest_bucket.set_available(self.rest_bucket.capacity)

    def load_state(self, data: dict[str, Any]) -> None:
        store = Store(self.config.shop, self.clock)
        persistence.load(store, data)
        self.replace_store(store)

    def save_state(self) -> None:
        if self.config.state_file is not None:
            text = json.dumps(persistence.dump(self.store))
            self.config.state_file.write_text(text, encoding="utf-8")

    async def start(self) -> None:
        await self.hub.start()

    async def stop(self) -> None:
        await self.bulk.stop()
        await self.hub.stop()
        self.save_state()
