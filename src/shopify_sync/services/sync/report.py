"""What a sync did: one result per product, and counts over many calls."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from shopify_sync.domain.allocation import DEFAULT_ALLOCATION, Allocation
from shopify_sync.domain.model import Product
from shopify_sync.types import InitialSource, ProductId

Action = Literal[
    "in_sync", "pushed", "pulled", "merged", "failed", "skipped", "not_linked", "disabled"
]


@dataclass(frozen=True, slots=True)
class SyncPolicy:
    """How the engine retries, who wins at a first sync, and the allocation a product
    without its own gets (written into its row at its first agreement with Shopify)."""

    initial_source: InitialSource = "b2b"
    default_allocation: Allocation = DEFAULT_ALLOCATION
    max_attempts: int = 8
    backoff_base_s: float = 5.0
    backoff_cap_s: float = 900.0
    max_rounds: int = 4
    """How often one call re-reads and re-merges products whose write went stale."""
    reference_prefix: str = "gid://shopify-sync/SyncBatch"


DEFAULT_SYNC_POLICY = SyncPolicy()


@dataclass(frozen=True, slots=True)
class ProductResult:
    """What one product's sync did."""

    product_id: ProductId
    action: Action
    b2c_stock: int | None = None
    shopify_available: int | None = None
    merged: int | None = None
    write: int | None = None
    error: str | None = None


@dataclass(slots=True)
class SyncReport:
    """What one sync call did, product by product."""

    results: dict[ProductId, ProductResult] = field(default_factory=dict)
    api_writes: int = 0
    started_at: datetime | None = None
    """When the sync picked these products up (push latency counts from here)."""

    def add(self, result: ProductResult) -> None:
        """Record (or replace) a product's result."""
        self.results[result.product_id] = result

    def fail(self, product: Product, message: str, shopify_available: int | None = None) -> None:
        """Record that ``product`` failed, and why."""
        self.add(
            ProductResult(
                product.product_id, "failed", product.b2c_stock, shopify_available, error=message
            )
        )

    def failed_all(self, products: Iterable[Product], message: str) -> None:
        """Record the same failure for each of ``products``."""
        for product in products:
            self.fail(product, message)

    def merge_in(self, other: SyncReport) -> None:
        """Take another call's results (replacing this one's for the same products)."""
        self.results.update(other.results)
        self.api_writes += other.api_writes

    @property
    def checked(self) -> int:
        """Products looked at."""
        return len(self.results)

    @property
    def changed(self) -> int:
        """Products whose stock moved on either side."""
        return sum(r.action in ("pushed", "pulled", "merged") for r in self.results.values())

    @property
    def pushed(self) -> int:
        """Products whose change of ours was written to Shopify."""
        return sum(r.action in ("pushed", "merged") for r in self.results.values())

    @property
    def pulled(self) -> int:
        """Products whose Shopify-side change was taken into our row."""
        return sum(r.action in ("pulled", "merged") for r in self.results.values())

    @property
    def failed(self) -> int:
        """Products that failed this time (recorded in ``sync_error``)."""
        return sum(r.action == "failed" for r in self.results.values())


@dataclass(slots=True)
class SyncTotals:
    """Counts over many sync calls (a reconcile keeps these, not every product's result)."""

    checked: int = 0
    changed: int = 0
    failed: int = 0
    api_writes: int = 0
    pushed: int = 0
    pulled: int = 0

    def add(self, report: SyncReport) -> None:
        """Fold one call's report in."""
        self.checked += report.checked
        self.changed += report.changed
        self.failed += report.failed
        self.api_writes += report.api_writes
        self.pushed += report.pushed
        self.pulled += report.pulled

    def add_totals(self, other: SyncTotals) -> None:
        """Fold other totals in."""
        self.checked += other.checked
        self.changed += other.changed
        self.failed += other.failed
        self.api_writes += other.api_writes
        self.pushed += other.pushed
        self.pulled += other.pulled
