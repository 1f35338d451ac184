"""A fake Shopify with a catalogue and webhook subscriptions, for the operator's use cases."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shopify_sync.domain.model import Variant, WebhookSubscription
from shopify_sync.services.ports import StoreClient
from shopify_sync.types import InventoryItemId, VariantId
from tests.factories import random_item_id
from tests.fakes import FakeClock, FakeStoreClient
from tests.unit.services.conftest import World, open_world

_variant_ids = itertools.count(44_000_000_001)
_subscription_ids = itertools.count(1)
_TERM = re.compile(r'(?:(?P<field>\w+):)?(?P<value>"(?:[^"\\]|\\.)*"|\S+)')


def _unquote(value: str) -> str:
    if value.startswith('"') and value.endswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


@dataclass
class FakeShop(FakeStoreClient):
    """Shopify in memory with variants (SKU, title, tracking) searchable like Shopify's search.

    ``find_variants`` understands ``sku:"A" OR sku:"B"``, ``id:N`` and bare words (matched
    in the SKU or title, case-insensitively); ``queries`` records every search.
    """

    titles: dict[VariantId, str] = field(default_factory=dict)
    product_titles: dict[VariantId, str] = field(default_factory=dict)
    """The title of each variant's product: a product search matches it, a variant search not."""
    subscriptions: dict[str, WebhookSubscription] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)
    before_search: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    """Run one each before the next searches answer (someone racing the operator)."""

    def add_variant(
        self,
        sku: str | None,
        available: int | None = 10,
        *,
        tracked: bool = True,
        title: str = "",
        product_title: str = "",
    ) -> Variant:
        """A new product variant stocked at our location."""
        item, variant = random_item_id(), VariantId(next(_variant_ids))
        self.add(item, available, variant=variant)
        self.items[item].sku = sku
        self.items[item].tracked = tracked
        self.titles[variant] = title or f"Product {sku}"
        if product_title:
            self.product_titles[variant] = product_title
        return Variant(variant, item, sku, self.titles[variant], tracked)

    def _variants(self) -> Iterator[Variant]:
        for item, entry in sorted(self.items.items()):
            if entry.variant is not None:
                title = self.titles.get(entry.variant, entry.sku or "")
                yield Variant(entry.variant, InventoryItemId(item), entry.sku, title, entry.tracked)

    async def catalogue_variants(self) -> AsyncIterator[Variant]:
        self._maybe_fail()
        self.bulk_reads += 1
        if self.before_search:
            await self.before_search.pop(0)()
        for variant in list(self._variants()):
            yield variant

    async def find_variants(self, query: str, *, limit: int = 50) -> list[Variant]:
        self._maybe_fail()
        self.queries.append(query)
        if self.before_search:
            await self.before_search.pop(0)()
        groups = [
            [(m.group("field"), m.group("value")) for m in _TERM.finditer(part)]
            for part in query.split(" OR ")
        ]
        return [v for v in self._variants() if any(_matches(v, g) for g in groups)][:limit]

    async def find_product_variants(self, query: str, *, limit: int = 10) -> list[Variant]:
        self._maybe_fail()
        self.queries.append(f"products: {query}")
        words = [_unquote(m.group("value")).lower() for m in _TERM.finditer(query)]
        return [
            v
            for v in self._variants()
            if all(w in self.product_titles.get(v.id, "").lower() for w in words)
            and v.id in self.product_titles
        ][: limit * 20]

    async def webhook_subscriptions(self) -> list[WebhookSubscription]:
        self._maybe_fail()
        return list(self.subscriptions.values())

    async def create_webhook_subscription(self, topic: str, uri: str) -> WebhookSubscription:
        self._maybe_fail()
        sub = WebhookSubscription(
            f"gid://shopify/WebhookSubscription/{next(_subscription_ids)}", topic, uri
        )
        self.subscriptions[sub.id] = sub
        return sub

    async def delete_webhook_subscription(self, subscription_id: str) -> None:
        self._maybe_fail()
        del self.subscriptions[subscription_id]


def _matches(variant: Variant, terms: list[tuple[str | None, str]]) -> bool:
    for name, raw in terms:
        value = _unquote(raw).lower()
        if name == "sku" and (variant.sku or "").lower() != value:
            return False
        if name == "id" and str(variant.id) != value:
            return False
        if name is None and value not in f"{variant.sku or ''} {variant.title}".lower():
            return False
    return True


@pytest.fixture(name="shop_world")
async def _shop_world(tmp_path: Path) -> AsyncIterator[World]:
    """Our migrated SQLite database, a fake Shopify with a catalogue, a clock, the engine."""
    async with open_world(tmp_path / "admin.db", FakeShop) as world:
        yield world


def shop(world: World) -> FakeShop:
    """The world's fake Shopify, with its catalogue."""
    assert isinstance(world.store, FakeShop)
    return world.store


_: StoreClient = FakeShop(FakeClock())
