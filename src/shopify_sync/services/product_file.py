"""The product file (CSV): its columns, reading and writing rows, and the diff of one row
against a product (pure; the import and export use cases are in :mod:`.product_csv`).

Columns: ``product_id, sku, b2b_stock, b2c_stock, variant, sync_enabled, allocation_policy,
allocation_buffer, allocation_cap, explanation``. Only ``product_id`` is required; a missing
column or a blank cell leaves the value as it is (a new product gets the defaults). The
allocation cells: ``allocation_policy`` is ``split`` or ``shared``; ``allocation_buffer`` a
number of units (``0``: no buffer); ``allocation_cap`` a number of units or ``none`` (no
cap). ``explanation`` is written by the export (how the quantity Shopify shows comes about)
and ignored by the import.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shopify_sync.domain.allocation import (
    POLICIES,
    Allocation,
    AllocationPolicy,
    explain,
    switch,
)
from shopify_sync.domain.model import Product
from shopify_sync.services.sync.selection import parse_variant_id
from shopify_sync.types import MAX_QUANTITY, ProductId, VariantId

CSV_COLUMNS = (
    "product_id", "sku", "b2b_stock", "b2c_stock", "variant", "sync_enabled",
    "allocation_policy", "allocation_buffer", "allocation_cap", "explanation",
)  # fmt: skip
READ_ONLY = frozenset({"explanation"})
"""Columns the export writes for people and the import ignores."""
ALLOCATION_COLUMNS = ("allocation_policy", "allocation_buffer", "allocation_cap")
NO_CAP = "none"
"""An ``allocation_cap`` cell meaning "no cap" (a blank one keeps the cap as it is)."""
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


@dataclass(frozen=True, slots=True)
class ProductRow:
    """One row of a product file; None means "leave as it is" (``clear_cap``: no cap)."""

    line: int
    product_id: ProductId
    sku: str | None = None
    b2b_stock: int | None = None
    b2c_stock: int | None = None
    variant: VariantId | None = None
    sync_enabled: bool | None = None
    policy: AllocationPolicy | None = None
    buffer: int | None = None
    cap: int | None = None
    clear_cap: bool = False

    def allocation(self, current: Allocation) -> Allocation:
        """The allocation the row asks for: its cells over ``current``'s values."""
        return Allocation(
            self.policy or current.policy,
            current.buffer if self.buffer is None else self.buffer,
            None if self.clear_cap else current.cap if self.cap is None else self.cap,
        )

    @property
    def sets_allocation(self) -> bool:
        """True when the row gives any allocation cell."""
        return (
            self.policy is not None
            or self.buffer is not None
            or self.cap is not None
            or (self.clear_cap)
        )


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
    """What importing one row changes; ``created`` for a product we do not have yet.

    ``moves`` are the stock columns a change of policy moves (after the row's own stock
    cells are set: units are never lost or invented); ``allocation`` is the allocation the
    product then has when the row changes it; ``explanation`` how the quantity Shopify
    must show then comes about, when the row changes stocks or allocation.
    """

    line: int
    product_id: ProductId
    created: bool
    changes: tuple[FieldChange, ...]
    moves: tuple[FieldChange, ...] = ()
    allocation: Allocation | None = None
    explanation: str | None = None

    @property
    def allocation_changed(self) -> bool:
        """True when the row changes the product's policy, buffer or cap."""
        return any(d.column in ALLOCATION_COLUMNS for d in self.changes)


# -- reading -------------------------------------------------------------------------------


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
        values = {
            name: cell.strip()
            for name, cell in zip(header, cells, strict=True)
            if name not in READ_ONLY
        }
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
    cap_text = values.get("allocation_cap", "")
    clear_cap = cap_text.lower() == NO_CAP
    return ProductRow(
        line,
        ProductId(product_id),
        values.get("sku") or None,
        _quantity(values, "b2b_stock"),
        _quantity(values, "b2c_stock"),
        variant,
        _flag(values, "sync_enabled"),
        _policy(values),
        _quantity(values, "allocation_buffer"),
        None if clear_cap else _quantity(values, "allocation_cap", f" or {NO_CAP}"),
        clear_cap,
    )


def _quantity(values: dict[str, str], name: str, other: str = "") -> int | None:
    text = values.get(name, "")
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a whole number{other}") from None
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


def _policy(values: dict[str, str]) -> AllocationPolicy | None:
    text = values.get("allocation_policy", "").lower()
    if not text:
        return None
    for policy in POLICIES:
        if text == policy:
            return policy
    raise ValueError(
        f"allocation_policy {values['allocation_policy']!r} is not {' or '.join(POLICIES)}"
    )


# -- writing -------------------------------------------------------------------------------


def encode_product_csv(products: Iterable[Product], *, header: bool, default: Allocation) -> str:
    """Products as CSV text (pure), with or without the header line. The allocation
    columns hold the allocation that applies (the product's own, else ``default``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for p in products:
        variant = parse_variant_id(p.shopify_variant_id or "")
        allocation = p.allocation(default)
        writer.writerow(
            [
                p.product_id,
                p.sku or "",
                p.b2b_stock,
                p.b2c_stock,
                variant if variant is not None else (p.shopify_variant_id or ""),
                "true" if p.sync_enabled else "false",
                allocation.policy,
                allocation.buffer,
                cap_text(allocation.cap),
                explain(p.b2b_stock, p.b2c_stock, allocation),
            ]
        )
    return out.getvalue()


def cap_text(cap: int | None) -> str:
    """A cap as the file and the diff show it: the number, or ``none``."""
    return NO_CAP if cap is None else str(cap)


# -- the diff of one row -------------------------------------------------------------------


def row_change(product: Product | None, row: ProductRow, default: Allocation) -> RowChange | None:
    """What importing ``row`` changes on ``product`` (None: a product we do not have yet),
    or None when nothing. ``default`` is the allocation of a product without its own."""
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
    current = default if product is None else product.allocation(default)
    target = row.allocation(current)
    diff.extend(_allocation_diff(current, target))
    if product is None and not diff:
        diff = [FieldChange("product_id", None, row.product_id)]
    if not diff:
        return None
    b2b = now["b2b_stock"] if row.b2b_stock is None else row.b2b_stock
    b2c = now["b2c_stock"] if row.b2c_stock is None else row.b2c_stock
    moves: list[FieldChange] = []
    if product is not None and target != current:
        moved = switch(b2b, b2c, current, target)
        moves = [
            FieldChange(column, old, new)
            for column, old, new in zip(("b2b_stock", "b2c_stock"), (b2b, b2c), moved, strict=True)
            if old != new
        ]
        b2b, b2c = moved
    touched = target != current or any(d.column.endswith("_stock") for d in diff)
    return RowChange(
        row.line,
        row.product_id,
        product is None,
        tuple(diff),
        tuple(moves),
        target if target != current else None,
        explain(b2b, b2c, target) if touched else None,
    )


def _allocation_diff(current: Allocation, target: Allocation) -> list[FieldChange]:
    changes = []
    if target.policy != current.policy:
        changes.append(FieldChange("allocation_policy", current.policy, target.policy))
    if target.buffer != current.buffer:
        changes.append(FieldChange("allocation_buffer", current.buffer, target.buffer))
    if target.cap != current.cap:
        changes.append(FieldChange("allocation_cap", cap_text(current.cap), cap_text(target.cap)))
    return changes
