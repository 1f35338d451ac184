"""Use cases: export products to CSV, and import them back, all rows or none.

Columns: ``product_id, sku, b2b_stock, b2c_stock, variant, sync_enabled``. Only
``product_id`` is required; a missing column or a blank cell leaves the value as it is (a
new product gets the defaults). The import first reads and checks every row (numbers,
booleans, duplicates, variants known to Shopify and not linked elsewhere), then applies
them in one transaction, so a bad row never half-applies; the dry run shows the same diff
and writes nothing. Stock changes are logged as ``admin`` changes, like any operator's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shopify_sync.domain.commands import ImportProducts
from shopify_sync.domain.model import Change, Link, LogRecord, Product
from shopify_sync.services.admin import OPERATOR, ProductFilter, walk_products
from shopify_sync.services.engine import SyncEngine
from shopify_sync.services.ports import Clock, StoreClient, UnitOfWork, UnitOfWorkFactory
from shopify_sync.services.sync.report import ProductResult
from shopify_sync.services.sync.selection import parse_variant_id
from shopify_sync.types import MAX_QUANTITY, InventoryItemId, ProductId, VariantId

CSV_COLUMNS = ("product_id", "sku", "b2b_stock", "b2c_stock", "variant", "sync_enabled")
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


@dataclass(frozen=True, slots=True)
class ProductRow:
    """One row of a product file; None means "leave as it is"."""

    line: int
    product_id: ProductId
    sku: str | None = None
    b2b_stock: int | None = None
    b2c_stock: int | None = None
    variant: VariantId | None = None
    sync_enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row (``line`` of the file, 1 = the header) cannot be imported."""

    line: int
    message: str
    product_id: str | None = None


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One column of one product: its value now and in the file."""

    column: str
    old: object
    new: object


@dataclass(frozen=True, slots=True)
class RowChange:
    """What importing one row changes; ``created`` for a product we do not have yet."""

    line: int
    product_id: ProductId
    created: bool
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The diff of an import, its errors, and whether it was applied (never when any error)."""

    dry_run: bool
    applied: bool
    changes: tuple[RowChange, ...] = ()
    unchanged: int = 0
    errors: tuple[RowError, ...] = ()
    synced: tuple[ProductResult, ...] = field(default_factory=tuple)


# -- the file format -----------------------------------------------------------------------


def parse_product_csv(text: str) -> tuple[list[ProductRow], list[RowError]]:
    """Read a product file (pure): the good rows, and one error per bad row."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in next(reader, [])]
    if "product_id" not in header:
        return [], [
            RowError(1, f"the header must name product_id (columns: {', '.join(CSV_COLUMNS)})")
        ]
    unknown = [name for name in header if name not in CSV_COLUMNS]
    doubled = sorted({name for name in header if header.count(name) > 1})
    if unknown or doubled:
        what = (
            f"unknown column(s) {', '.join(unknown)}"
            if unknown
            else f"repeated column(s) {', '.join(doubled)}"
        )
        return [], [RowError(1, f"{what}; expected some of {', '.join(CSV_COLUMNS)}")]
    rows: list[ProductRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            errors.append(RowError(line, f"{len(cells)} cells where the header has {len(header)}"))
            continue
        values = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        try:
            row = _row(line, values)
        except ValueError as exc:
            errors.append(RowError(line, str(exc), values.get("product_id") or None))
            continue
        if row.product_id in seen:
            errors.append(
                RowError(
                    line,
                    f"product {row.product_id} is already on line {seen[row.product_id]}",
                    row.product_id,
                )
            )
            continue
        seen[row.product_id] = line
        rows.append(row)
    return rows, errors


def _row(line: int, values: dict[str, str]) -> ProductRow:
    product_id = values["product_id"]
    if not product_id:
        raise ValueError("product_id is empty")
    variant: VariantId | None = None
    if values.get("variant"):
        variant = parse_variant_id(values["variant"])
        if variant is None:
            raise ValueError(
                f"variant {values['variant']!r} is not a variant id (123 or gid://shopify/ProductVariant/123)"
            )
    return ProductRow(
        line,
        ProductId(product_id),
        values.get("sku") or None,
        _quantity(values, "b2b_stock"),
        _quantity(values, "b2c_stock"),
        variant,
        _flag(values, "sync_enabled"),
    )


def _quantity(values: dict[str, str], name: str) -> int | None:
    text = values.get(name, "")
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a whole number") from None
    if not 0 <= number <= MAX_QUANTITY:
        raise ValueError(f"{name} {number} is outside 0..{MAX_QUANTITY}")
    return number


def _flag(values: dict[str, str], name: str) -> bool | None:
    text = values.get(name, "").lower()
    if not text:
        return None
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError(f"{name} {values[name]!r} is not true or false")


def encode_product_csv(products: Iterable[Product], *, header: bool) -> str:
    """Products as CSV text (pure), with or without the header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for p in products:
        variant = parse_variant_id(p.shopify_variant_id or "")
        writer.writerow(
            [
                p.product_id,
                p.sku or "",
                p.b2b_stock,
                p.b2c_stock,
                variant if variant is not None else (p.shopify_variant_id or ""),
                "true" if p.sync_enabled else "false",
            ]
        )
    return out.getvalue()


async def export_products(uow: UnitOfWorkFactory) -> AsyncIterator[tuple[int, str]]:
    """The whole catalogue as CSV chunks, page by page: (products in the chunk, text)."""
    yield 0, encode_product_csv([], header=True)
    async for page in walk_products(uow, ProductFilter()):
        yield len(page), encode_product_csv(page, header=False)


# -- import --------------------------------------------------------------------------------


async def import_products(
    cmd: ImportProducts,
    uow: UnitOfWorkFactory,
    store: StoreClient,
    engine: SyncEngine,
    clock: Clock,
) -> ImportReport:
    """Check every row, then apply all of them in one transaction (or, on any error, none).

    Raises:
        StoreError: Shopify could not be asked about the file's variants.
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
    async with uow() as unit:
        changes, unchanged, conflicts = await _plan(unit, good, items)
        errors.extend(conflicts)
        errors.sort(key=lambda e: e.line)
        if cmd.dry_run or errors:
            return ImportReport(cmd.dry_run, False, tuple(changes), unchanged, tuple(errors))
        await _apply(unit, changes, items, Change("local", OPERATOR, cmd.reference), clock)
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


async def _plan(
    unit: UnitOfWork, rows: Sequence[ProductRow], items: dict[VariantId, InventoryItemId]
) -> tuple[list[RowChange], int, list[RowError]]:
    existing = {p.product_id: p for p in await unit.products.get_many(r.product_id for r in rows)}
    changes: list[RowChange] = []
    errors: list[RowError] = []
    unchanged = 0
    for row in rows:
        product = existing.get(row.product_id)
        diff = _diff(product, row)
        if not diff:
            unchanged += 1
            continue
        if (
            product is not None
            and product.push_key is not None
            and any(d.column == "variant" for d in diff)
        ):
            errors.append(
                RowError(
                    row.line,
                    "a write to Shopify is in flight: relink it once answered",
                    row.product_id,
                )
            )
            continue
        changes.append(RowChange(row.line, row.product_id, product is None, tuple(diff)))
    errors.extend(await _link_conflicts(unit, changes, items))
    return changes, unchanged, errors


def _diff(product: Product | None, row: ProductRow) -> list[FieldChange]:
    now: dict[str, Any] = (
        {"sku": None, "b2b_stock": 0, "b2c_stock": 0, "variant": None, "sync_enabled": False}
        if product is None
        else {
            "sku": product.sku,
            "b2b_stock": product.b2b_stock,
            "b2c_stock": product.b2c_stock,
            "variant": parse_variant_id(product.shopify_variant_id or ""),
            "sync_enabled": product.sync_enabled,
        }
    )
    wanted = {
        "sku": row.sku,
        "b2b_stock": row.b2b_stock,
        "b2c_stock": row.b2c_stock,
        "variant": row.variant,
        "sync_enabled": row.sync_enabled,
    }
    diff = [FieldChange(k, now[k], v) for k, v in wanted.items() if v is not None and v != now[k]]
    if product is None and not diff:
        diff = [FieldChange("product_id", None, row.product_id)]
    return diff


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
) -> None:
    now = clock.now()
    notes: list[LogRecord] = []
    for row in changes:
        values = {d.column: d.new for d in row.changes if d.column != "product_id"}
        variant = values.pop("variant", None)
        link: dict[str, Any] = {}
        if variant is not None:
            vid = VariantId(int(str(variant)))
            link = {"shopify_variant_id": str(vid), "shopify_inventory_item_id": items[vid]}
        if row.created:
            await unit.products.upsert(
                {"product_id": row.product_id, **values, **link}, change, now
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
    await unit.log.add(notes, now)


def describe_change(column: str, old: object, new: object) -> str:
    """``sku set to A`` for a first value, ``sku A -> B``, ``sku cleared (was A)``: never
    ``None`` in an operator's log."""
    if old is None or old == "":
        return f"{column} set to {new}"
    if new is None or new == "":
        return f"{column} cleared (was {old})"
    return f"{column} {old} -> {new}"
