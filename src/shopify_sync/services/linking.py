"""Use cases: link our products to Shopify variants, one by one or all at once by SKU.

A link names the variant and its inventory item; linking restarts the agreed base, so the
next sync is a first sync. Nothing ambiguous is ever linked: a SKU that several variants
(or several of our products) share, a variant already linked to another product, or an
item whose inventory Shopify does not track is reported, and left for the operator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from shopify_sync.domain.commands import AutoLink, LinkProduct
from shopify_sync.domain.model import Link, LogRecord, Product, Variant
from shopify_sync.errors import LinkConflict, UnknownVariant
from shopify_sync.services.admin import (
    OPERATOR,
    ProductFilter,
    get_product,
    locked_product,
    product_counts,
    walk_products,
)
from shopify_sync.services.ports import Clock, StoreClient, UnitOfWork, UnitOfWorkFactory
from shopify_sync.types import InventoryItemId, ProductId, VariantId

SKUS_PER_QUERY = 50
"""SKUs searched in one ``productVariants`` query (``sku:"A" OR sku:"B" ...``)."""
MAX_MATCHES_PER_QUERY = 1000
BULK_LINK_THRESHOLD = 2000
"""From this many unlinked products on, auto-linking reads Shopify's variants in one bulk
operation (as the reconcile reads levels) instead of searching 50 SKUs a call."""
READ_REPORT_EVERY = 1000
"""Variants read between two reports to the ``reading`` progress."""

Progress = Callable[[int], None]
"""Told how many more products were looked at."""


def sku_key(sku: str | None) -> str:
    """The form SKUs are compared in: trimmed and case-folded ("" when there is none)."""
    return (sku or "").strip().casefold()


def sku_query(skus: Iterable[str]) -> str:
    """Shopify's search for exact SKUs: ``sku:"A" OR sku:"B"`` (quotes escaped)."""
    quoted = ('sku:"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in skus)
    return " OR ".join(quoted)


async def search_variants(store: StoreClient, text: str, *, limit: int = 20) -> list[Variant]:
    """Shopify variants whose SKU, variant title or product title matches ``text`` (exact SKU
    matches first, then variants whose own fields match, then the variants of products whose
    title matches: Shopify's variant search does not look at the product's title)."""
    text = text.strip()
    if not text:
        return []
    found = await store.find_variants(sku_query([text]), limit=limit)
    words = " ".join(f'"{w}"' for w in text.replace('"', " ").split())
    for more in (
        await store.find_variants(words, limit=limit),
        await store.find_product_variants(words, limit=limit),
    ):
        seen = {v.id for v in found}
        found.extend(v for v in more if v.id not in seen)
    return found[:limit]


async def variant_by_id(store: StoreClient, variant_id: VariantId) -> Variant:
    """One variant, looked up by id.

    Raises:
        UnknownVariant: Shopify has no such variant.
    """
    found = [
        v for v in await store.find_variants(f"id:{variant_id}", limit=5) if v.id == variant_id
    ]
    if not found:
        raise UnknownVariant(f"with id {variant_id}")
    return found[0]


async def variant_by_sku(store: StoreClient, sku: str) -> Variant:
    """The one variant with exactly this SKU (compared trimmed and case-folded).

    Raises:
        UnknownVariant: no variant has it.
        LinkConflict: several variants share it.
    """
    key = sku_key(sku)
    found = [
        v
        for v in await store.find_variants(sku_query([sku.strip()]), limit=50)
        if sku_key(v.sku) == key
    ]
    if not found:
        raise UnknownVariant(f"with SKU {sku!r}")
    if len(found) > 1:
        ids = ", ".join(str(v.id) for v in found)
        raise LinkConflict(
            f"{len(found)} Shopify variants share SKU {sku!r} ({ids}): link by --variant"
        )
    return found[0]


@dataclass(frozen=True, slots=True)
class LinkResult:
    """A product and the variant it is now linked to; ``changed`` is False when it already was."""

    product: Product
    variant: Variant
    changed: bool


async def link_product(
    cmd: LinkProduct, uow: UnitOfWorkFactory, store: StoreClient, clock: Clock
) -> LinkResult:
    """Link a product to a variant named by id or exact SKU (its next sync is a first sync).

    Raises:
        UnknownProduct: no such product.
        UnknownVariant: Shopify has no such variant.
        LinkConflict: the SKU is shared, the variant is linked to another product, Shopify
            does not track its inventory, or a write of ours to Shopify is in flight.
    """
    if (cmd.variant_id is None) == (cmd.sku is None):
        raise ValueError("LinkProduct takes a variant id or a SKU")
    await get_product(uow, cmd.product_id)  # before asking Shopify anything
    variant = (
        await variant_by_id(store, cmd.variant_id)
        if cmd.variant_id is not None
        else await variant_by_sku(store, cmd.sku or "")
    )
    if not variant.tracked:
        raise LinkConflict(
            f"Shopify does not track inventory for variant {variant.id} ({variant.title}): "
            "turn on 'Track quantity' in Shopify first"
        )
    async with uow() as unit:
        product = await locked_product(unit, cmd.product_id)
        if product.inventory_item_id == variant.inventory_item_id:
            return LinkResult(product, variant, changed=False)
        taken = [
            p.product_id
            for p in await unit.products.by_inventory_items([variant.inventory_item_id])
            if p.product_id != product.product_id
        ]
        if taken:
            raise LinkConflict(
                f"variant {variant.id} is already linked to product {taken[0]}: unlink that first"
            )
        await _link(unit, product, variant, clock)
        await unit.commit()
        linked = await unit.products.get(cmd.product_id)
    assert linked is not None
    return LinkResult(linked, variant, changed=True)


async def unlink_product(product_id: str, uow: UnitOfWorkFactory, clock: Clock) -> Product:
    """Forget a product's variant; it stops syncing until linked again.

    Raises:
        UnknownProduct: no such product.
        LinkConflict: a write of ours to Shopify is in flight for it.
    """
    now = clock.now()
    async with uow() as unit:
        product = await locked_product(unit, product_id)
        _check_not_in_flight(product)
        if product.linked:
            await unit.products.set_links([Link(product.product_id, None, None)], now)
            await unit.log.add(
                [_link_note(product, f"unlinked from variant {product.shopify_variant_id}")], now
            )
        await unit.commit()
        after = await unit.products.get(product_id)
    assert after is not None
    return after


async def _link(unit: UnitOfWork, product: Product, variant: Variant, clock: Clock) -> None:
    _check_not_in_flight(product)
    await _link_many(unit, [(product, variant)], clock)


async def _link_many(
    unit: UnitOfWork, pairs: Sequence[tuple[Product, Variant]], clock: Clock
) -> None:
    """Link each product to its variant and note it in the audit trail: two statements."""
    now = clock.now()
    await unit.products.set_links(
        [Link(p.product_id, str(v.id), v.inventory_item_id, v.title) for p, v in pairs], now
    )
    await unit.log.add([_link_note(p, _linked_to(v)) for p, v in pairs], now)


def _linked_to(variant: Variant) -> str:
    return f"linked to variant {variant.id} ({variant.title}, SKU {variant.sku or '-'})"


def _check_not_in_flight(product: Product) -> None:
    if product.push_key is not None:
        raise LinkConflict(
            f"a write to Shopify is waiting for its answer for {product.product_id}: "
            "try again once it is answered"
        )


def _link_note(product: Product, detail: str) -> LogRecord:
    return LogRecord(
        product.product_id, "local", OPERATOR, "shopify_variant_id", None, None, 0, None, detail
    )


# -- auto-link -----------------------------------------------------------------------------

Outcome = Literal[
    "linked", "no_sku", "unmatched", "duplicate_ours", "duplicate_shopify", "untracked", "taken"
]


@dataclass(frozen=True, slots=True)
class AutoLinkItem:
    """What auto-linking did (or would do) for one unlinked product."""

    product_id: ProductId
    sku: str | None
    outcome: Outcome
    variants: tuple[Variant, ...] = ()
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AutoLinkReport:
    """Every unlinked product looked at, by outcome; nothing was written when ``dry_run``."""

    dry_run: bool
    items: tuple[AutoLinkItem, ...] = field(default_factory=tuple)
    products: int = 0
    """Products in our table (linked or not): none means the B2B platform has written none."""

    def of(self, outcome: Outcome) -> list[AutoLinkItem]:
        """The items with this outcome."""
        return [i for i in self.items if i.outcome == outcome]

    @property
    def linked(self) -> int:
        """Products linked (or that would be)."""
        return len(self.of("linked"))


async def auto_link(
    cmd: AutoLink,
    uow: UnitOfWorkFactory,
    store: StoreClient,
    clock: Clock,
    *,
    progress: Progress | None = None,
    reading: Progress | None = None,
    bulk_from: int = BULK_LINK_THRESHOLD,
) -> AutoLinkReport:
    """Match every unlinked product to the Shopify variant with its SKU, page by page.

    Links only a product whose SKU no other product of ours carries and exactly one
    tracked Shopify variant carries, when no other product is linked to that variant.
    From ``bulk_from`` unlinked products on, Shopify's variants are read once through a bulk
    operation (streamed; only those carrying one of our SKUs are kept); below, the SKUs of
    each page are searched, ``SKUS_PER_QUERY`` a call.

    Args:
        progress: told how many more products were looked at.
        reading: told how many more Shopify variants were read (bulk read only).
    """
    ours_twice = await _duplicate_skus(uow)
    counts = await product_counts(uow)
    bulk: dict[str, list[Variant]] | None = None
    if counts.get("total", 0) - counts.get("linked", 0) >= bulk_from:
        bulk = await _bulk_matches(uow, store, ours_twice, reading)
    items: list[AutoLinkItem] = []
    async for page in walk_products(uow, ProductFilter(unlinked=True)):
        matches = bulk if bulk is not None else await _searched_matches(page, ours_twice, store)
        items.extend(await _auto_link_page(page, ours_twice, matches, cmd.dry_run, uow, clock))
        if progress is not None:
            progress(len(page))
    return AutoLinkReport(cmd.dry_run, tuple(items), counts.get("total", 0))


async def _duplicate_skus(uow: UnitOfWorkFactory) -> set[str]:
    async with uow() as unit:
        return {sku_key(s) for s in await unit.products.duplicate_skus()}


async def _bulk_matches(
    uow: UnitOfWorkFactory, store: StoreClient, ours_twice: set[str], reading: Progress | None
) -> dict[str, list[Variant]]:
    """Shopify's variants carrying one of our unlinked products' SKUs, by SKU key."""
    wanted: set[str] = set()
    async for page in walk_products(uow, ProductFilter(unlinked=True)):
        wanted.update(k for p in page if (k := sku_key(p.sku)) and k not in ours_twice)
    matches: dict[str, list[Variant]] = {}
    read = 0
    async for variant in store.catalogue_variants():
        key = sku_key(variant.sku)
        if key in wanted:
            matches.setdefault(key, []).append(variant)
        read += 1
        if reading is not None and read % READ_REPORT_EVERY == 0:
            reading(READ_REPORT_EVERY)
    if reading is not None and read % READ_REPORT_EVERY:
        reading(read % READ_REPORT_EVERY)
    return matches


async def _searched_matches(
    page: Sequence[Product], ours_twice: set[str], store: StoreClient
) -> dict[str, list[Variant]]:
    """Shopify's variants carrying the SKUs of ``page``, searched ``SKUS_PER_QUERY`` a call."""
    wanted = sorted({p.sku.strip() for p in page if p.sku and sku_key(p.sku) not in ours_twice})
    matches: dict[str, list[Variant]] = {}
    for start in range(0, len(wanted), SKUS_PER_QUERY):
        query = sku_query(wanted[start : start + SKUS_PER_QUERY])
        for variant in await store.find_variants(query, limit=MAX_MATCHES_PER_QUERY):
            matches.setdefault(sku_key(variant.sku), []).append(variant)
    return matches


async def _auto_link_page(
    page: Sequence[Product],
    ours_twice: set[str],
    matches: Mapping[str, list[Variant]],
    dry_run: bool,
    uow: UnitOfWorkFactory,
    clock: Clock,
) -> list[AutoLinkItem]:
    async with uow() as unit:
        candidates = [
            v[0] for p in page if len(v := matches.get(sku_key(p.sku), [])) == 1 and v[0].tracked
        ]
        taken = {
            p.inventory_item_id: p.product_id
            for p in await unit.products.by_inventory_items(c.inventory_item_id for c in candidates)
        }
        claimed: set[int] = set()
        items: list[AutoLinkItem] = []
        for product in page:
            item = _classify(product, ours_twice, matches, taken, claimed)
            if item.outcome == "linked":
                claimed.add(item.variants[0].inventory_item_id)
            items.append(item)
        if not dry_run:
            items = await _apply_links(unit, items, clock)
        await unit.commit()
    return items


async def _apply_links(
    unit: UnitOfWork, items: list[AutoLinkItem], clock: Clock
) -> list[AutoLinkItem]:
    """Link the page's matches whose products are still unlinked (rows locked in id order);
    a product linked by someone else since the page was read is reported as taken."""
    wanted = [i.product_id for i in items if i.outcome == "linked"]
    fresh = {p.product_id: p for p in await unit.products.get_many(wanted, lock=True)}
    pairs: list[tuple[Product, Variant]] = []
    result: list[AutoLinkItem] = []
    for item in items:
        current = fresh.get(item.product_id)
        if item.outcome == "linked" and (current is None or current.linked):
            item = AutoLinkItem(
                item.product_id, item.sku, "taken", item.variants,
                "linked by someone else meanwhile",
            )  # fmt: skip
        elif item.outcome == "linked" and current is not None and current.push_key is not None:
            item = AutoLinkItem(
                item.product_id, item.sku, "taken", item.variants,
                "a write to Shopify is waiting for its answer: try again once it is answered",
            )  # fmt: skip
        elif item.outcome == "linked" and current is not None:
            pairs.append((current, item.variants[0]))
        result.append(item)
    await _link_many(unit, pairs, clock)
    return result


def _classify(
    product: Product,
    ours_twice: set[str],
    matches: Mapping[str, list[Variant]],
    taken: Mapping[InventoryItemId | None, ProductId],
    claimed: set[int],
) -> AutoLinkItem:
    pid, sku, key = product.product_id, product.sku, sku_key(product.sku)
    if not key:
        return AutoLinkItem(pid, sku, "no_sku", detail="the product has no SKU")
    if key in ours_twice:
        return AutoLinkItem(
            pid, sku, "duplicate_ours", detail="other products of ours carry this SKU too"
        )
    variants = tuple(matches.get(key, []))
    if not variants:
        return AutoLinkItem(pid, sku, "unmatched", detail="no Shopify variant has this SKU")
    if len(variants) > 1:
        ids = ", ".join(str(v.id) for v in variants)
        return AutoLinkItem(
            pid, sku, "duplicate_shopify", variants, f"Shopify variants {ids} share this SKU"
        )
    variant = variants[0]
    if not variant.tracked:
        return AutoLinkItem(
            pid, sku, "untracked", variants, f"Shopify does not track variant {variant.id}"
        )
    owner = taken.get(variant.inventory_item_id)
    if owner is not None or variant.inventory_item_id in claimed:
        return AutoLinkItem(
            pid,
            sku,
            "taken",
            variants,
            f"variant {variant.id} is already linked to {owner or 'another product'}",
        )
    return AutoLinkItem(pid, sku, "linked", variants, f"variant {variant.id} ({variant.title})")
