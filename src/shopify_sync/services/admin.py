"""Use cases of the operator: browse, allocate, enable, explain, monitor and retry products.

The CLI (``shopify-sync products ...``, ``explain``, ``log``, ``errors``, ``retry``) and the
admin page call these with the ports they need. Every change of a stock column is made as
``Change("local", "admin", reference)``, so the audit trail names the operator as its source.
Linking lives in :mod:`.linking`, CSV files in :mod:`.product_csv`, webhooks in :mod:`.setup`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from shopify_sync.domain.allocation import DEFAULT_ALLOCATION, Allocation, AllocationPolicy
from shopify_sync.domain.allocation import explain as explain_allocation
from shopify_sync.domain.commands import (
    Allocate,
    RetryProducts,
    SetSyncEnabled,
    SetSyncEnabledMany,
)
from shopify_sync.domain.model import Change, LevelRead, LogEntry, LogRecord, Product
from shopify_sync.domain.reconcile import Merge, merge_product
from shopify_sync.errors import InvalidQuantity, InvalidRequest, StoreError, UnknownProduct
from shopify_sync.services.engine import SyncEngine
from shopify_sync.services.ports import Clock, StoreClient, UnitOfWork, UnitOfWorkFactory
from shopify_sync.services.sync.report import ProductResult
from shopify_sync.types import MAX_QUANTITY, InitialSource, ProductId

OPERATOR = "admin"
"""The audit log's source for every change an operator makes."""
WALK_PAGE = 500


# -- browsing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductFilter:
    """Which products to list; the flags combine (all must hold)."""

    linked: bool = False
    unlinked: bool = False
    errors: bool = False
    disabled: bool = False
    parked: bool = False
    search: str | None = None
    policy: AllocationPolicy | None = None
    """Only products under this allocation policy: their own, else ``default_policy``."""
    default_policy: AllocationPolicy = "split"
    """The policy of a product without its own (the settings')."""


@dataclass(frozen=True, slots=True)
class ProductPage:
    """One page of products, where the next one starts, and the catalogue's counts."""

    products: tuple[Product, ...]
    next_after: str | None
    counts: Mapping[str, int]


async def list_products(
    uow: UnitOfWorkFactory, filters: ProductFilter, *, after: str | None = None, limit: int = 50
) -> ProductPage:
    """One page of products in id order (keyset pagination) with the catalogue's counts."""
    async with uow() as unit:
        found = await _page(unit, filters, after, limit + 1)
        counts = dict(await unit.products.counts())
    more = len(found) > limit
    products = tuple(found[:limit])
    return ProductPage(products, products[-1].product_id if more else None, counts)


async def walk_products(
    uow: UnitOfWorkFactory, filters: ProductFilter, *, page_size: int = WALK_PAGE
) -> AsyncIterator[list[Product]]:
    """Every matching product, page by page (one short transaction per page)."""
    after: str | None = None
    while True:
        async with uow() as unit:
            page = await _page(unit, filters, after, page_size)
        if not page:
            return
        yield page
        after = page[-1].product_id


async def product_counts(uow: UnitOfWorkFactory) -> Mapping[str, int]:
    """How many products there are: all, linked, enabled, with errors, parked, pending."""
    async with uow() as unit:
        return dict(await unit.products.counts())


async def _page(
    unit: UnitOfWork, filters: ProductFilter, after: str | None, limit: int
) -> list[Product]:
    return await unit.products.page(
        after=after,
        limit=limit,
        linked=filters.linked,
        unlinked=filters.unlinked,
        errors=filters.errors,
        disabled=filters.disabled,
        parked=filters.parked,
        search=(filters.search or "").strip() or None,
        policy=filters.policy,
        default_policy=filters.default_policy,
    )


ProductStatus = Literal["parked", "error", "unlinked", "disabled", "in flight", "pending", "ok"]


def product_status(product: Product) -> ProductStatus:
    """One word for where a product stands, the most urgent first (pure)."""
    if product.parked_at is not None:
        return "parked"
    if product.sync_error:
        return "error"
    if not product.linked:
        return "unlinked"
    if not product.sync_enabled:
        return "disabled"
    if product.push_key is not None:
        return "in flight"
    if product.pending:
        return "pending"
    return "ok"


async def get_product(uow: UnitOfWorkFactory, product_id: str) -> Product:
    """One product.

    Raises:
        UnknownProduct: no such product.
    """
    async with uow() as unit:
        product = await unit.products.get(product_id)
    if product is None:
        raise UnknownProduct(product_id)
    return product


async def recent_log(
    uow: UnitOfWorkFactory,
    *,
    product_id: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[LogEntry]:
    """The audit trail, newest first (the seed's first monitoring query)."""
    async with uow() as unit:
        return await unit.log.recent(product_id=product_id, limit=limit, before_id=before_id)


async def products_with_errors(uow: UnitOfWorkFactory, *, limit: int = 1000) -> list[Product]:
    """Products whose last sync failed, parked ones included (the seed's second query)."""
    async with uow() as unit:
        return await unit.products.page(errors=True, limit=limit)


# -- changes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """A product before and after an operator's change, and the sync it triggered if any."""

    before: Product
    after: Product
    sync: ProductResult | None = None


async def allocate(
    cmd: Allocate, uow: UnitOfWorkFactory, engine: SyncEngine, clock: Clock
) -> ChangeResult:
    """Set the B2C and/or B2B stock, or move units between the channels, as an admin change.

    Raises:
        UnknownProduct: no such product.
        InvalidQuantity: a negative or too large figure, an empty request, or a move of more
            units than the giving channel holds.
    """
    _check_allocation(cmd)
    change = Change("local", OPERATOR, cmd.reference)
    async with uow() as unit:
        before = await locked_product(unit, cmd.product_id)
        if cmd.move is not None:
            giving, stock = (
                ("b2b", before.b2b_stock) if cmd.to == "b2c" else ("b2c", before.b2c_stock)
            )
            if cmd.move > stock:
                raise InvalidQuantity(
                    f"cannot move {cmd.move} units to {cmd.to}: {giving} holds only {stock}"
                )
            to_b2c = cmd.move if cmd.to == "b2c" else -cmd.move
            await unit.products.move_stock(
                cmd.product_id, to_b2c=to_b2c, change=change, now=clock.now()
            )
        else:
            await unit.products.set_stock(
                cmd.product_id, b2b_stock=cmd.b2b, b2c_stock=cmd.b2c, change=change, now=clock.now()
            )
        after = await locked_product(unit, cmd.product_id)
        await unit.commit()
    return await _pushed(before, after, cmd.push, engine)


def _check_allocation(cmd: Allocate) -> None:
    if cmd.move is not None:
        if cmd.b2c is not None or cmd.b2b is not None:
            raise InvalidQuantity("give --move with --to, or --b2c / --b2b, not both")
        if cmd.to not in ("b2c", "b2b"):
            raise InvalidQuantity("--move needs --to b2c or --to b2b")
        if not 0 < cmd.move <= MAX_QUANTITY:
            raise InvalidQuantity(f"--move takes a positive number of units, not {cmd.move}")
        return
    if cmd.b2c is None and cmd.b2b is None:
        raise InvalidQuantity("nothing to allocate: give --b2c, --b2b or --move")
    for name, value in (("b2c", cmd.b2c), ("b2b", cmd.b2b)):
        if value is not None and not 0 <= value <= MAX_QUANTITY:
            raise InvalidQuantity(f"--{name} must be between 0 and {MAX_QUANTITY:,}, not {value}")


async def set_sync_enabled(
    cmd: SetSyncEnabled, uow: UnitOfWorkFactory, engine: SyncEngine, clock: Clock
) -> ChangeResult:
    """Turn sync on or off for a product (logged), and sync it at once when turned on.

    Raises:
        UnknownProduct: no such product.
    """
    now = clock.now()
    async with uow() as unit:
        before = await locked_product(unit, cmd.product_id)
        if before.sync_enabled != cmd.enabled:
            await unit.products.set_enabled(cmd.product_id, cmd.enabled, now)
            state = "enabled" if cmd.enabled else "disabled"
            await unit.log.add([_note(cmd.product_id, "sync_enabled", f"sync {state}")], now)
        after = await locked_product(unit, cmd.product_id)
        await unit.commit()
    return await _pushed(before, after, cmd.push and cmd.enabled, engine)


@dataclass(frozen=True, slots=True)
class RetryReport:
    """The products an operator retried, and what their sync did (when pushed at once)."""

    retried: tuple[ProductId, ...]
    results: tuple[ProductResult, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> int:
        """How many failed again."""
        return sum(r.action == "failed" for r in self.results)


async def retry(
    cmd: RetryProducts, uow: UnitOfWorkFactory, engine: SyncEngine, clock: Clock
) -> RetryReport:
    """Forget the failures of the products named (or of every parked one, or every one in
    error), queue a re-read, sync again.

    Raises:
        UnknownProduct: one named does not exist (nothing changed).
        InvalidRequest: nothing was chosen.
    """
    if cmd.product_id is None and not cmd.product_ids and not (cmd.parked or cmd.errors):
        raise InvalidRequest("retry what? name products, or choose the parked or errored ones")
    if cmd.product_id is not None or cmd.product_ids:
        ids = ([cmd.product_id] if cmd.product_id is not None else []) + list(cmd.product_ids)
        pages = [await products_named(uow, ids)]
    else:
        chosen = ProductFilter(parked=cmd.parked and not cmd.errors, errors=cmd.errors)
        pages = [page async for page in walk_products(uow, chosen)]
    retried: list[ProductId] = []
    results: list[ProductResult] = []
    for page in pages:
        ids = [p.product_id for p in page]
        now = clock.now()
        async with uow() as unit:
            await unit.products.clear_failure(ids, now)
            await unit.products.request_refresh(ids, now)
            await unit.log.add(
                [_note(pid, "sync_error", "retried by an operator") for pid in ids], now
            )
            await unit.commit()
            fresh = await unit.products.get_many(ids)
        retried.extend(ids)
        if cmd.push:
            report = await engine.sync(fresh, source=OPERATOR)
            results.extend(report.results.values())
    return RetryReport(tuple(retried), tuple(results))


async def products_named(uow: UnitOfWorkFactory, ids: Sequence[str]) -> list[Product]:
    """These products, in the order given (each once).

    Raises:
        UnknownProduct: one of them does not exist (the first such, before anything changes).
    """
    wanted = list(dict.fromkeys(ids))
    async with uow() as unit:
        found = {p.product_id: p for p in await unit.products.get_many(wanted)}
    for product_id in wanted:
        if product_id not in found:
            raise UnknownProduct(product_id)
    return [found[ProductId(pid)] for pid in wanted]


async def selected_ids(
    uow: UnitOfWorkFactory, ids: Sequence[str], filters: ProductFilter | None
) -> list[ProductId]:
    """The products named by ``ids`` (checked to exist), or every one matching ``filters``.

    Raises:
        UnknownProduct: one of ``ids`` does not exist.
    """
    if filters is None:
        return [p.product_id for p in await products_named(uow, ids)]
    return [p.product_id async for page in walk_products(uow, filters) for p in page]


@dataclass(frozen=True, slots=True)
class BulkChange:
    """Products an operator turned on or off at once, and what their sync did."""

    changed: tuple[ProductId, ...]
    unchanged: tuple[ProductId, ...]
    results: tuple[ProductResult, ...] = field(default_factory=tuple)


async def set_sync_enabled_many(
    cmd: SetSyncEnabledMany, uow: UnitOfWorkFactory, engine: SyncEngine, clock: Clock
) -> BulkChange:
    """Turn sync on or off for several products (each logged), one transaction per page of
    ``WALK_PAGE``; those turned on are synced at once when ``push``.

    Raises:
        UnknownProduct: one of them does not exist (nothing changed).
    """
    await products_named(uow, cmd.product_ids)
    ids = list(dict.fromkeys(cmd.product_ids))
    changed: list[ProductId] = []
    unchanged: list[ProductId] = []
    results: list[ProductResult] = []
    state = "enabled" if cmd.enabled else "disabled"
    for start in range(0, len(ids), WALK_PAGE):
        now = clock.now()
        async with uow() as unit:
            page = await unit.products.get_many(ids[start : start + WALK_PAGE], lock=True)
            moved = [p.product_id for p in page if p.sync_enabled != cmd.enabled]
            for product_id in moved:
                await unit.products.set_enabled(product_id, cmd.enabled, now)
            await unit.log.add([_note(pid, "sync_enabled", f"sync {state}") for pid in moved], now)
            after = await unit.products.get_many(moved)
            await unit.commit()
        changed.extend(moved)
        unchanged.extend(p.product_id for p in page if p.product_id not in set(moved))
        syncable = [p for p in after if p.sync_enabled and p.linked]
        if cmd.push and cmd.enabled and syncable:
            report = await engine.sync(syncable, source=OPERATOR)
            results.extend(report.results.values())
    return BulkChange(tuple(changed), tuple(unchanged), tuple(results))


async def locked_product(unit: UnitOfWork, product_id: str) -> Product:
    """The product, its row locked until the transaction ends.

    Raises:
        UnknownProduct: no such product.
    """
    product = await unit.products.get(product_id, lock=True)
    if product is None:
        raise UnknownProduct(product_id)
    return product


async def _pushed(before: Product, after: Product, push: bool, engine: SyncEngine) -> ChangeResult:
    if not (push and after.sync_enabled and after.linked):
        return ChangeResult(before, after)
    report = await engine.sync([after], source=OPERATOR)
    return ChangeResult(before, after, report.results.get(after.product_id))


def _note(product_id: str, what: str, detail: str) -> LogRecord:
    """An audit row for an operator's change that moves no stock column."""
    return LogRecord(ProductId(product_id), "local", OPERATOR, what, None, None, 0, None, detail)


# -- explain -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why Shopify shows what it shows for one product.

    ``level`` is Shopify's level as read just now (None when unlinked, disabled reads
    included, or unreadable: then ``shopify_error`` says why); ``next_sync`` is what the
    next sync would do; ``allocation`` is the product's (its own, else the settings'), and
    ``published`` how the quantity Shopify must show comes about under it; ``lines`` tell
    the story in sentences.
    """

    product: Product
    level: LevelRead | None
    shopify_error: str | None
    next_sync: Merge | None
    last_push: LogEntry | None
    last_webhook: LogEntry | None
    lines: tuple[str, ...]
    allocation: Allocation = DEFAULT_ALLOCATION
    published: str = ""


async def explain(
    product_id: str,
    uow: UnitOfWorkFactory,
    store: StoreClient,
    *,
    initial_source: InitialSource = "b2b",
    default: Allocation = DEFAULT_ALLOCATION,
) -> Explanation:
    """Our stocks and allocation, Shopify's level, the agreed base, the last push and
    webhook, errors. ``default`` is the allocation of a product without its own.

    A Shopify failure does not fail the explanation: it becomes part of it.

    Raises:
        UnknownProduct: no such product.
    """
    async with uow() as unit:
        product = await unit.products.get(product_id)
        if product is None:
            raise UnknownProduct(product_id)
        last_push = await unit.log.latest(product_id, direction="outbound")
        last_webhook = await unit.log.latest(product_id, source_prefix="webhook:inventory_levels")
    level: LevelRead | None = None
    error: str | None = None
    if product.inventory_item_id is not None:
        try:
            levels = await store.read_levels([product.inventory_item_id])
            level = levels.get(product.inventory_item_id)
        except StoreError as exc:
            error = str(exc)
    allocation = product.allocation(default)
    next_sync = (
        merge_product(product, level.available, allocation, initial_source=initial_source)
        if level is not None and level.known and level.tracked and level.available is not None
        else None
    )
    published = explain_allocation(product.b2b_stock, product.b2c_stock, allocation)
    lines = narrate(product, level, error, next_sync, initial_source, published=published)
    return Explanation(
        product, level, error, next_sync, last_push, last_webhook, lines, allocation, published
    )


def narrate(
    product: Product,
    level: LevelRead | None,
    shopify_error: str | None,
    next_sync: Merge | None,
    initial_source: InitialSource,
    *,
    published: str = "",
) -> tuple[str, ...]:
    """The explanation in sentences, most important first (pure); ``published`` is how
    the quantity Shopify must show comes about under the product's allocation."""
    pid = product.product_id
    lines: list[str] = []
    if not product.linked:
        lines.append(
            f"Not linked to a Shopify variant: link it (shopify-sync products link {pid} "
            "--sku SKU, or on its admin page) to sync it."
        )
    elif product.inventory_item_id is None:
        lines.append(
            f"Linked to variant {product.shopify_variant_id}; its inventory item is resolved "
            "at the next sync."
        )
    if not product.sync_enabled:
        lines.append("Sync is disabled: Shopify keeps its own quantity until sync is enabled.")
    lines.extend(_shopify_lines(product, level, shopify_error))
    if published:
        lines.append(f"By its allocation: {published}.")
    lines.extend(_merge_lines(product, next_sync, initial_source))
    if product.push_key is not None:
        lines.append(
            f"A write to Shopify is waiting for its answer: set {product.push_quantity} where "
            f"Shopify held {product.push_expected} (key {product.push_key}); it is resent with "
            "the same key until Shopify answers, so it never counts twice."
        )
    if product.refresh_requested:
        lines.append("A re-read of Shopify's level is queued (a webhook or an order asked for it).")
    if product.parked_at is not None:
        lines.append(
            f"Parked after {product.sync_attempts} failed attempt(s): fix the cause, then "
            f"retry it (shopify-sync retry {pid}, or Retry on the admin page)."
        )
    elif product.sync_error:
        lines.append(
            f"The last sync failed ({product.sync_attempts} attempt(s)); retried automatically."
        )
    return tuple(lines)


def _shopify_lines(
    product: Product, level: LevelRead | None, shopify_error: str | None
) -> list[str]:
    if shopify_error is not None:
        return [f"Shopify could not be read just now: {shopify_error}"]
    if level is None:
        return []
    item = product.inventory_item_id
    if not level.known:
        return [f"Shopify has no inventory item {item}: the link is stale; relink the product."]
    if not level.tracked:
        return [f"Shopify does not track inventory for item {item}: turn tracking on in Shopify."]
    if level.available is None:
        return [f"Item {item} is not stocked at our location: stock it there in Shopify."]
    return [f"Shopify shows {level.available} available at our location."]


def _merge_lines(
    product: Product, next_sync: Merge | None, initial_source: InitialSource
) -> list[str]:
    ours, base = product.b2c_stock, product.shopify_base
    lines = [f"We hold {ours} for B2C (and {product.b2b_stock} for B2B)."]
    if base is None:
        lines.append(
            "Never synced: at the first sync "
            + (
                "our B2C stock is pushed to Shopify."
                if initial_source == "b2b"
                else "Shopify's quantity is taken as ours."
            )
        )
    else:
        lines.append(f"The last quantity both sides agreed on is {base}.")
        if ours != base:
            lines.append(
                f"Our B2C stock changed by {ours - base:+d} since then; it is not pushed yet."
            )
    if next_sync is None:
        return lines
    if base is not None and next_sync.theirs != base:
        lines.append(
            f"Shopify changed by {next_sync.theirs - base:+d} since then (sales or edits there "
            "not applied yet: a webhook is on its way, or was lost)."
        )
    if not next_sync.changed:
        lines.append("Both sides agree: the next sync has nothing to do.")
    else:
        write = (
            f"set Shopify to {next_sync.write}"
            if next_sync.write is not None
            else "leave Shopify as it is"
        )
        ours_part = (
            f" and move our B2C stock by {next_sync.inbound_delta:+d}"
            if next_sync.inbound_delta
            else ""
        )
        lines.append(
            f"The next sync will {write}{ours_part}: both sides then hold {next_sync.merged}."
        )
    if next_sync.oversold:
        lines.append(
            "Both channels sold the same units: the merged quantity is negative (oversold)."
        )
    return lines
