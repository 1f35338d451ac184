"""What to sync: which rows a round merges, once their links are resolved and no other
task's write to them is still waiting for its answer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from shopify_sync.domain.model import Product
from shopify_sync.errors import StoreError
from shopify_sync.services.ports import Clock, StoreClient, SyncUnitOfWorkFactory
from shopify_sync.services.sync.failure import FailurePolicy
from shopify_sync.services.sync.report import ProductResult, SyncReport
from shopify_sync.services.sync.writing import BATCH_SIZE, Writer
from shopify_sync.types import InventoryItemId, ProductId, VariantId

IN_FLIGHT_WAIT_S = 3.0
"""How long a sync waits for another task's write to the same products to be answered."""
IN_FLIGHT_POLL_S = 0.05

IN_FLIGHT = "a write to Shopify is still waiting for its answer; retried shortly"


class Selection:
    """Loads the products a round syncs: resolved, enabled, and with no write in flight."""

    def __init__(
        self,
        uow: SyncUnitOfWorkFactory,
        store: StoreClient,
        clock: Clock,
        failures: FailurePolicy,
        writer: Writer,
    ) -> None:
        self._uow = uow
        self._store = store
        self._clock = clock
        self._failures = failures
        self._writer = writer

    @staticmethod
    def triage(products: Iterable[Product], report: SyncReport) -> list[Product]:
        """The products a sync call works on; the disabled and unlinked are reported so."""
        todo: list[Product] = []
        for product in products:
            if not product.sync_enabled:
                report.add(ProductResult(product.product_id, "disabled", product.b2c_stock))
            elif not product.linked:
                report.add(ProductResult(product.product_id, "not_linked", product.b2c_stock))
            else:
                todo.append(product)
        return todo

    async def load(self, ids: Sequence[ProductId], report: SyncReport) -> list[Product]:
        """Reload rows; resolve inventory items; leave out what is in flight or unlinked."""
        async with self._uow() as uow:
            products = await uow.products.get_many(ids)
        if any(p.inventory_item_id is None for p in products):
            await self.resolve(products, report)
            async with self._uow() as uow:
                products = await uow.products.get_many(ids)
        products = await self._await_in_flight(products, report)
        ready = []
        for product in products:
            if product.push_key is not None:
                if product.product_id in report.results:
                    continue  # its resend just failed, and says so
                report.add(
                    ProductResult(product.product_id, "skipped", product.b2c_stock, error=IN_FLIGHT)
                )
            elif product.inventory_item_id is not None and product.sync_enabled:
                ready.append(product)
        return ready

    async def for_snapshot(self, levels: Iterable[InventoryItemId]) -> list[Product]:
        """The products a chunk of a snapshot covers that a reconcile may merge with it."""
        async with self._uow() as uow:
            return [
                p
                for p in await uow.products.by_inventory_items(levels)
                if p.sync_enabled and p.parked_at is None and p.push_key is None
            ]

    async def not_synced_since(self, started: datetime, after: str | None) -> list[Product]:
        """The next page of products a snapshot did not settle (left out, or moved)."""
        async with self._uow() as uow:
            return await uow.products.syncable(
                after=after, limit=BATCH_SIZE * 4, not_synced_since=started
            )

    async def reload(self, ids: Sequence[ProductId]) -> list[Product]:
        """The rows as they are now."""
        async with self._uow() as uow:
            return await uow.products.get_many(ids)

    async def _await_in_flight(self, products: list[Product], report: SyncReport) -> list[Product]:
        """Let a write another task or process started for these products settle first.

        Its answer usually arrives within moments; if it does not, resend it ourselves (the
        same request and key, so Shopify replays rather than applies twice).
        """
        waiting = [p for p in products if p.push_key and p.product_id not in report.results]
        if not waiting:
            return products
        ids = [p.product_id for p in products]
        for _ in range(int(IN_FLIGHT_WAIT_S / IN_FLIGHT_POLL_S)):
            await self._clock.sleep(IN_FLIGHT_POLL_S)
            async with self._uow() as uow:
                products = await uow.products.get_many(ids)
            if not any(p.push_key and p.product_id not in report.results for p in products):
                return products
        keys = {p.push_key for p in products if p.push_key and p.product_id not in report.results}
        await self._writer.resend_in_flight(keys, report, "resend")
        return await self.reload(ids)

    async def resolve_items(self, limit: int = BATCH_SIZE) -> SyncReport:
        """Store the inventory item of products the Inventory Service linked by variant only."""
        async with self._uow() as uow:
            products = await uow.products.unresolved(limit=limit, now=self._clock.now())
        report = SyncReport()
        if products:
            await self.resolve(products, report)
        return report

    async def resolve(self, products: Sequence[Product], report: SyncReport) -> None:
        """Resolve the inventory item of each product that names only its variant; a
        malformed or unknown variant is a permanent failure of that product."""
        variants: dict[VariantId, Product] = {}
        malformed: list[Product] = []
        for product in products:
            if product.inventory_item_id is None:
                variant = parse_variant_id(product.shopify_variant_id or "")
                if variant is None:
                    malformed.append(product)
                else:
                    variants[variant] = product
        try:
            found = await self._store.resolve_inventory_items(list(variants))
        except StoreError as exc:
            await self._failures.store_failed(
                [p.product_id for p in variants.values()], exc, report, "resolve the variant"
            )
            return
        now = self._clock.now()
        async with self._uow() as uow:
            for variant, product in variants.items():
                if variant in found:
                    await uow.products.set_inventory_item(product.product_id, found[variant], now)
                else:
                    malformed.append(product)
            unknown = {
                product.product_id: (
                    f"Shopify has no variant {product.shopify_variant_id!r}: fix the link "
                    "(shopify-sync products link) and retry"
                )
                for product in malformed
            }
            await self._failures.record(uow, unknown, permanent=True)
            for product in malformed:
                report.fail(product, unknown[product.product_id])
            await uow.commit()


def parse_variant_id(value: str) -> VariantId | None:
    """A variant id from ``123`` or ``gid://shopify/ProductVariant/123``; None when malformed."""
    text = value.strip().rsplit("/", 1)[-1] if value.strip().startswith("gid://") else value.strip()
    return VariantId(int(text)) if text.isdigit() and int(text) > 0 else None
