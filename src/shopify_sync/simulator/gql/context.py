"""What every resolver gets as `info.context`: the shop, the version rules, per-request state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING

from shopify_sync.simulator.gql.idempotency import Decision, IdempotencyStore
from shopify_sync.simulator.store import Store
from shopify_sync.simulator.versions import VersionRules

if TYPE_CHECKING:
    from shopify_sync.simulator.bulk import BulkManager


@dataclass(slots=True)
class RequestContext:
    """Per-request context; `bulk_window` is set while a bulk operation executes a slice."""

    store: Store
    rules: VersionRules
    zone: tzinfo
    base_url: str
    bulk: BulkManager
    keys: IdempotencyStore
    plan: str = "standard"
    scopes: tuple[str, ...] = ()
    idempotency: dict[str, Decision] = field(default_factory=dict)
    bulk_window: tuple[int, int] | None = None
    bulk_seen: int = 0

    @property
    def version(self) -> str:
        return self.rules.version
