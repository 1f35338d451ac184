"""The failure policy: what a failed sync records, when it is retried, when it is parked.

A failure is either passing (Shopify unavailable, throttled, a write it refused whole) and
retried with exponential backoff up to ``SyncPolicy.max_attempts``, or permanent for the
product (unknown or untracked item, a quantity Shopify refuses) and parked at once until
an operator retries it. Either way the row says what failed and what happens next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import structlog

from shopify_sync.domain.model import Product, SyncFailure
from shopify_sync.errors import StoreError
from shopify_sync.services.ports import Clock, Metrics, SyncUnitOfWork, SyncUnitOfWorkFactory
from shopify_sync.services.sync.report import SyncPolicy, SyncReport
from shopify_sync.types import ProductId

log = structlog.get_logger(__name__)

LOGGED_IDS = 20
"""Product ids a "sync failed" line names; it gives the count, each row has its error."""


class FailurePolicy:
    """Records failed syncs on the products' rows: message, backoff, or parking."""

    def __init__(
        self, uow: SyncUnitOfWorkFactory, clock: Clock, policy: SyncPolicy, metrics: Metrics
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy
        self._metrics = metrics

    def backoff_s(self, attempt: int) -> float:
        """Seconds before retry ``attempt`` (exponential, capped)."""
        return float(
            min(self._policy.backoff_cap_s, self._policy.backoff_base_s * 2 ** (attempt - 1))
        )

    async def store_failed(
        self, ids: Sequence[ProductId], exc: StoreError, report: SyncReport, what: str
    ) -> None:
        """Shopify failed while we tried to ``what`` for these products: retry them later."""
        message = f"could not {what}: {exc}"
        async with self._uow() as uow:
            products = await self.record(uow, dict.fromkeys(ids, message), permanent=False)
            await uow.commit()
        report.failed_all(products, message)

    async def record(
        self, unit: SyncUnitOfWork, messages: Mapping[ProductId, str], *, permanent: bool
    ) -> list[Product]:
        """Record a failure of each product (``messages``: what failed, for each): the
        message for operators, backoff, or parking. One statement for them all and one log
        line per distinct message, however many products a failed batch names. Returns the
        products as they were read (unknown ids left out)."""
        now = self._clock.now()
        failures: list[SyncFailure] = []
        logged: dict[str, list[tuple[Product, datetime | None]]] = {}
        products = await unit.products.get_many(messages)
        for product in products:
            attempt = product.sync_attempts + 1
            when: datetime | None = None
            if permanent or attempt >= self._policy.max_attempts:
                tail = (
                    "parked: fix the cause, then `shopify-sync retry "
                    f"{product.product_id}` or retry it on the admin page"
                )
            else:
                when = now + timedelta(seconds=self.backoff_s(attempt))
                tail = (
                    f"attempt {attempt} of {self._policy.max_attempts}; "
                    f"next try at {when:%Y-%m-%d %H:%M:%S} UTC"
                )
            message = messages[product.product_id]
            text = f"{now:%Y-%m-%d %H:%M:%S} UTC: {message} ({tail})"
            failures.append(SyncFailure(product.product_id, text[:2000], when))
            logged.setdefault(message, []).append((product, when))
        await unit.products.record_failures(failures, now)
        self._metrics.sync_failed(len(failures))
        for message, failed in logged.items():
            retried = [when for _, when in failed if when is not None]
            log.warning(
                "sync failed",
                error=message,
                products=len(failed),
                product_ids=[p.product_id for p, _ in failed[:LOGGED_IDS]],
                attempts=sorted({p.sync_attempts + 1 for p, _ in failed}),
                next_attempt_at=min(retried).isoformat() if retried else None,
                parked=len(failed) - len(retried),
            )
        return products
