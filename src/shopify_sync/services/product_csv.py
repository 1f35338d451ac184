"""Use cases: export products to CSV, and import them back, all rows or none.

The file's columns are described in :mod:`.product_file`. The import first reads and checks
every row (numbers, booleans, policies, duplicates, variants known to Shopify and not
linked elsewhere), then applies them in one transaction, so a bad row never half-applies;
the dry run shows the same diff (with the units a change of policy moves) and writes
nothing. Stock changes are logged as ``admin`` changes, like any operator's; a change of
allocation as the allocation service logs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shopify_sync.domain.allocation import DEFAULT_ALLOCATION, Allocation
from shopify_sync.domain.commands import ImportProducts
from shopify_sync.domain.model import AllocationChange, Change, Link, LogRecord
from shopify_sync.services.admin import OPERATOR, ProductFilter, walk_products
from shopify_sync.services.allocation import wait_for_writes
from shopify_sync.services.engine import SyncEngine
from shopify_sync.services.ports import Clock, StoreClient, UnitOfWork, UnitOfWorkFactory
from shopify_sync.services.product_file import (
    ALLOCATION_COLUMNS,
    CSV_COLUMNS,
    FieldChange,
    ProductRow,
    RowChange,
    RowError,
    encode_product_csv,
    parse_product_csv,
    row_change,
)
from shopify_sync.services.sync.report import ProductResult
from shopify_sync.types import InventoryItemId, ProductId, VariantId

__all__ = [
    "CSV_COLUMNS", "FieldChange", "ImportReport", "ProductRow", "RowChange", "RowError",
    "describe_change", "encode_product_csv", "export_products", "import_products",
    "parse_product_csv",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The diff of an import, its errors, and whether it was applied (never when any error)."""

    dry_run: bool
    applied: bool
    changes: tuple[RowChange, ...] = ()
    unchanged: int = 0
    errors: tuple[RowError, ...] = ()
    synced: tuple[ProductResult, ...] = field(default_factory=tuple)


async def export_products(
    uow: UnitOfWorkFactory, default: Allocation = DEFAULT_ALLOCATION
) -> AsyncIterator[tuple[int, str]]:
    """The whole catalogue as CSV chunks, page by page: (products in the chunk, text).
    ``default`` is the allocation of a product without its own (the settings')."""
    yield 0, encode_product_csv([], header=True, default=default)
    async for page in walk_products(uow, ProductFilter()):
        yield len(page), encode_product_csv(page, header=False, default=default)


# -- import --------------------------------------------------------------------------------


async def import_products(
    cmd: ImportProducts,
    uow: UnitOfWorkFactory,
    store: StoreClient,
    engine: SyncEngine,
    clock: Clock,
    default: Allocation = DEFAULT_ALLOCATION,
) -> ImportReport:
    """Check every row, then apply all of them in one transaction (or, on any error, none).

    A row that changes a product's allocation first waits for the product's write in flight
    to be answered (a policy never changes under a write), then moves its units in the same
    transaction as every other row.

    Raises:
        StoreError: Shopify could not be asked about the file's variants.
        WriteInFlight: a write in flight was not answered in time (nothing changed).
    """
    rows, errors = parse_product_csv(cmd.text)
    variants = sorted({r.variant for r in rows if r.variant is not None})
    items: dict[VariantId, InventoryItemId] = (
        await store.resolve_inventory_items(variants) if variants else {}
    )
    for row in rows:
        if row.variant is not None and row.variant not in items:
            errors.append(
                RowError(row.line, f"Shopify has no variant {row.variant}", row.product_id)
            )
    good = [r for r in rows if not (r.variant is not None and r.variant not in items)]
    waited = not cmd.dry_run and not errors
    if waited:
        await _wait_for_writes(good, uow, clock)
    async with uow() as unit:
        changes, unchanged, conflicts = await _plan(unit, good, items, default, waited=waited)
        errors.extend(conflicts)
        errors.sort(key=lambda e: e.line)
        if cmd.dry_run or errors:
            return ImportReport(cmd.dry_run, False, tuple(changes), unchanged, tuple(errors))
        who = Change("local", OPERATOR, cmd.reference)
        late = await _apply(unit, changes, items, who, clock, default)
        if late:
            return ImportReport(False, False, tuple(changes), unchanged, tuple(late))
        await unit.commit()
    synced: list[ProductResult] = []
    if cmd.push and changes:
        async with uow() as unit:
            fresh = await unit.products.get_many(c.product_id for c in changes)
        syncable = [p for p in fresh if p.sync_enabled and p.linked]
        if syncable:
            # A Shopify failure is recorded per product by the engine; the import stands.
            synced.extend((await engine.sync(syncable, source=OPERATOR)).results.values())
    return ImportReport(False, True, tuple(changes), unchanged, (), tuple(synced))


IN_FLIGHT = "a write to Shopify is in flight: {} once answered"


async def _wait_for_writes(
    rows: Sequence[ProductRow], uow: UnitOfWorkFactory, clock: Clock
) -> None:
    """Wait until no product whose allocation a row may change has a write in flight.

    Raises:
        WriteInFlight: one was still unanswered after the allocation service's wait.
    """
    named = [r.product_id for r in rows if r.sets_allocation]
    if not named:
        return
    async with uow() as unit:
        existing = [p.product_id for p in await unit.products.get_many(named)]
    if existing:
        await wait_for_writes(existing, uow, clock)


async def _plan(
    unit: UnitOfWork,
    rows: Sequence[ProductRow],
    items: dict[VariantId, InventoryItemId],
    default: Allocation,
    *,
    waited: bool,
) -> tuple[list[RowChange], int, list[RowError]]:
    existing = {p.product_id: p for p in await unit.products.get_many(r.product_id for r in rows)}
    changes: list[RowChange] = []
    errors: list[RowError] = []
    unchanged = 0
    for row in rows:
        product = existing.get(row.product_id)
        change = row_change(product, row, default)
        if change is None:
            unchanged += 1
            continue
        if product is not None and product.push_key is not None:
            relinks = any(d.column == "variant" for d in change.changes)
            if relinks or (waited and change.allocation_changed):
                what = "relink it" if relinks else "import its allocation again"
                errors.append(RowError(row.line, IN_FLIGHT.format(what), row.product_id))
                continue
        changes.append(change)
    errors.extend(await _link_conflicts(unit, changes, items))
    return changes, unchanged, errors


async def _link_conflicts(
    unit: UnitOfWork, changes: Sequence[RowChange], items: dict[VariantId, InventoryItemId]
) -> list[RowError]:
    """Rows that would link a variant twice: to two rows, or to a product that keeps it."""
    relinked = {c.product_id for c in changes for d in c.changes if d.column == "variant"}
    wanted = [
        (c, VariantId(int(str(d.new)))) for c in changes for d in c.changes if d.column == "variant"
    ]
    owners = {
        p.inventory_item_id: p.product_id
        for p in await unit.products.by_inventory_items(items[v] for _, v in wanted)
    }
    errors: list[RowError] = []
    claimed: dict[VariantId, ProductId] = {}
    for change, variant in wanted:
        owner = owners.get(items[variant])
        if variant in claimed:
            errors.append(
                RowError(
                    change.line,
                    f"variant {variant} is also given to {claimed[variant]}",
                    change.product_id,
                )
            )
        elif owner is not None and owner != change.product_id and owner not in relinked:
            errors.append(
                RowError(
                    change.line,
                    f"variant {variant} is linked to product {owner}",
                    change.product_id,
                )
            )
        claimed.setdefault(variant, change.product_id)
    return errors


async def _apply(
    unit: UnitOfWork,
    changes: Sequence[RowChange],
    items: dict[VariantId, InventoryItemId],
    change: Change,
    clock: Clock,
    default: Allocation,
) -> list[RowError]:
    """Apply every row in ``unit``'s transaction; the rows whose allocation could not be
    set (a write to Shopify started since they were read), when any: then roll back."""
    now = clock.now()
    notes: list[LogRecord] = []
    late: list[RowError] = []
    for row in changes:
        values = {
            d.column: d.new
            for d in row.changes
            if d.column != "product_id" and d.column not in ALLOCATION_COLUMNS
        }
        variant = values.pop("variant", None)
        link: dict[str, Any] = {}
        if variant is not None:
            vid = VariantId(int(str(variant)))
            link = {"shopify_variant_id": str(vid), "shopify_inventory_item_id": items[vid]}
        if row.created:
            own = _own_columns(row.allocation)
            await unit.products.upsert(
                {"product_id": row.product_id, **values, **link, **own}, change, now
            )
        else:
            if link:
                await unit.products.set_links(
                    [
                        Link(
                            ProductId(row.product_id),
                            link["shopify_variant_id"],
                            link["shopify_inventory_item_id"],
                        )
                    ],
                    now,
                )
            if values:
                await unit.products.upsert({"product_id": row.product_id, **values}, change, now)
            if row.allocation is not None and not await _set_allocation(
                unit, row, row.allocation, default, change.reference, now
            ):
                late.append(RowError(row.line, IN_FLIGHT.format("import it again"), row.product_id))
        described = "; ".join(
            describe_change(d.column, d.old, d.new)
            for d in row.changes
            if d.column in ("variant", "sync_enabled", "sku")
        )
        if described:
            notes.append(
                LogRecord(
                    row.product_id,
                    "local",
                    OPERATOR,
                    "import",
                    None,
                    None,
                    0,
                    change.reference,
                    f"CSV line {row.line}: {described}",
                )
            )
    if late:
        return late  # the caller leaves without committing: nothing is applied
    await unit.log.add(notes, now)
    return []


async def _set_allocation(
    unit: UnitOfWork,
    row: RowChange,
    new: Allocation,
    default: Allocation,
    reference: str | None,
    now: datetime,
) -> bool:
    """Give an existing product its new allocation, moving its units from the stocks it
    holds now (after the row's own stock cells); False when a write to Shopify started."""
    product = await unit.products.get(row.product_id)
    assert product is not None  # planned in this transaction
    change = AllocationChange.of(product, product.allocation(default), new)
    return await unit.products.set_allocation(change, reference=reference, now=now)


def _own_columns(allocation: Allocation | None) -> dict[str, Any]:
    """A new product's own allocation columns (none: it takes the settings' at first sync)."""
    if allocation is None:
        return {}
    return {
        "allocation_policy": allocation.policy,
        "allocation_buffer": allocation.buffer,
        "allocation_cap": allocation.cap,
    }


def describe_change(column: str, old: object, new: object) -> str:
    """``sku set to A`` for a first value, ``sku A -> B``, ``sku cleared (was A)``: never
    ``None`` in an operator's log."""
    if old is None or old == "":
        return f"{column} set to {new}"
    if new is None or new == "":
        return f"{column} cleared (was {old})"
    return f"{column} {old} -> {new}"
