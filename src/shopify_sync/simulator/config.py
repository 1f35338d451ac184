"""Simulator settings: one frozen value built by the CLI (or a test) and passed to `create_app`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Plan = Literal["standard", "advanced", "plus", "enterprise"]

SUPPORTED_VERSIONS: tuple[str, ...] = ("2025-10", "2026-01", "2026-04", "2026-07", "2026-10")
"""API versions served, oldest first; each has its real Admin GraphQL schema in `schemas/`."""

DEFAULT_ACCESS_TOKEN = "shpat_simulator_access_token"
DEFAULT_CLIENT_ID = "simulator-client-id"
DEFAULT_CLIENT_SECRET = "shpss_simulator_client_secret"
DEFAULT_WEBHOOK_SECRET = DEFAULT_CLIENT_SECRET
"""A Dev Dashboard app's webhooks are signed with its client secret."""
DEFAULT_TOKEN_LIFETIME_S = 86399
"""Shopify's `expires_in` for a client credentials token (about a day)."""
DEFAULT_SCOPES: tuple[str, ...] = (
    "read_inventory",
    "write_inventory",
    "read_products",
    "read_orders",
    "write_products",
)
"""The four scopes shopify-sync needs, and `write_products` so that clients of the simulator
(tests, demos) can create products."""


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """Rate limits of one Shopify plan (reference section 8)."""

    graphql_bucket: float
    graphql_restore_per_s: float
    rest_bucket: int
    rest_leak_per_s: float


PLAN_LIMITS: dict[str, PlanLimits] = {
    "standard": PlanLimits(2000.0, 100.0, 40, 2.0),
    "advanced": PlanLimits(4000.0, 200.0, 80, 4.0),
    "plus": PlanLimits(20000.0, 1000.0, 400, 20.0),
    # Shopify only says "higher" for Enterprise REST; 400 / 40 per s is our assumption.
    "enterprise": PlanLimits(40000.0, 2000.0, 400, 40.0),
}

MAX_QUERY_COST = 1000
"""Any single GraphQL query above this requested cost is refused (MAX_COST_EXCEEDED)."""


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything the simulator needs; nothing is read from the environment below the CLI.

    Attributes:
        shop: the myshopify domain served; requests for another `*.myshopify.com` host get 404.
        plan: selects the GraphQL and REST bucket sizes (`PLAN_LIMITS`).
        products: number of generated products (one variant each, SKU-000001 ...).
        locations: number of generated locations; every generated item is stocked at all of them.
        seed: seed of the random initial quantities.
        seed_file: a catalogue JSON file loaded at start (see docs/simulator.md).
        state_file: state JSON loaded at start when it exists and saved at shutdown.
        webhook_retry_scale: multiplies Shopify's retry delays (0.001 turns 4 h into 14.4 s).
        webhook_timeout_s: how long one webhook delivery may take before it counts as failed.
        timezone: the shop's IANA time zone; REST and webhook timestamps carry its offset.
        warm_schemas: load every schema in a background thread at start-up, not on first use.
        hang_s: how long a simulated "timeout" fault holds a request before answering 504.
        access_token: the static token of an admin-created app (never expires; "" disables it).
        client_id, client_secret: the Dev Dashboard app whose credentials
            `POST /admin/oauth/access_token` exchanges for expiring tokens.
        token_lifetime_s: `expires_in` of those tokens.
        scopes: the access scopes granted to the app (both kinds of token).
    """

    shop: str = "demo.myshopify.com"
    access_token: str = field(default=DEFAULT_ACCESS_TOKEN, repr=False)
    webhook_secret: str = field(default=DEFAULT_WEBHOOK_SECRET, repr=False)
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = field(default=DEFAULT_CLIENT_SECRET, repr=False)
    token_lifetime_s: int = DEFAULT_TOKEN_LIFETIME_S
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    plan: Plan = "standard"
    products: int = 0
    locations: int = 1
    seed: int = 1
    max_initial_quantity: int = 100
    seed_file: Path | None = None
    state_file: Path | None = None
    webhook_retry_scale: float = 1.0
    webhook_timeout_s: float = 5.0
    timezone: str = "America/New_York"
    warm_schemas: bool = False
    hang_s: float = 30.0

    @property
    def limits(self) -> PlanLimits:
        """The rate limits of the configured plan."""
        return PLAN_LIMITS[self.plan]
