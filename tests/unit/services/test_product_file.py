"""The product file's allocation columns: reading, checking, writing and the diff (pure)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from shopify_sync.domain.allocation import DEFAULT_ALLOCATION, Allocation
from shopify_sync.domain.model import Product
from shopify_sync.services.product_file import (
    FieldChange,
    ProductRow,
    RowError,
    encode_product_csv,
    parse_product_csv,
    row_change,
)
from shopify_sync.types import ProductId

HEADER = "product_id,allocation_policy,allocation_buffer,allocation_cap\n"


def _product(b2b: int = 100, b2c: int = 20, **own: Any) -> Product:
    base = Product(ProductId("p"), "S", None, b2b, b2c, None, None, True, None, 0, None,
                   None, None, None)  # fmt: skip
    return dataclasses.replace(base, **own)


def test_parse_reads_the_allocation_cells() -> None:
    """Policy (any case), buffer and cap are read; ``none`` removes the cap, blanks keep."""
    text = HEADER + "a,Shared,5,50\nb,split,0,none\nc,,,\nd,,,NONE\n"

    rows, errors = parse_product_csv(text)

    assert ([], [
        ProductRow(2, ProductId("a"), policy="shared", buffer=5, cap=50),
        ProductRow(3, ProductId("b"), policy="split", buffer=0, clear_cap=True),
        ProductRow(4, ProductId("c")),
        ProductRow(5, ProductId("d"), clear_cap=True),
    ]) == (errors, rows)  # fmt: skip


def test_parse_refuses_bad_allocation_cells_one_error_per_row() -> None:
    """An unknown policy, a negative or non-numeric buffer or cap: one error per row."""
    text = HEADER + "a,pooled,,\nb,,-1,\nc,,,-5\nd,,x,\ne,,,lots\nok,shared,1,2\n"

    rows, errors = parse_product_csv(text)

    assert [r.product_id for r in rows] == ["ok"]
    assert [
        RowError(2, "allocation_policy 'pooled' is not split or shared", "a"),
        RowError(3, "allocation_buffer -1 is outside 0..1000000000", "b"),
        RowError(4, "allocation_cap -5 is outside 0..1000000000", "c"),
        RowError(5, "allocation_buffer 'x' is not a whole number", "d"),
        RowError(6, "allocation_cap 'lots' is not a whole number or none", "e"),
    ] == errors


def test_parse_ignores_the_explanation_column() -> None:
    """The export's explanation column is accepted and ignored by the import."""
    rows, errors = parse_product_csv("product_id,explanation\np,Shopify shows 7: pool 7\n")

    assert ([], [ProductRow(2, ProductId("p"))]) == (errors, rows)


def test_export_writes_the_allocation_that_applies_and_why() -> None:
    """A product's own allocation, or the default for one without, with the explanation."""
    own = _product(b2b=12, b2c=3, allocation_policy="shared", allocation_buffer=5,
                   allocation_cap=50)  # fmt: skip
    default = Allocation("split", 2, None)

    text = encode_product_csv([own, _product(b2c=1)], header=False, default=default)

    assert text.splitlines() == [
        'p,S,12,3,,true,shared,5,50,"Shopify shows 7: pool 12 (b2b_stock, shared) minus buffer 5'
        ' = 7; cap 50 not reached"',
        'p,S,100,1,,true,split,2,none,"Shopify shows 0: pool 1 (b2c_stock, split) minus buffer'
        ' 2 = -1, shown as 0"',
    ]


def test_diff_of_a_switch_to_shared_shows_the_units_moved_and_why() -> None:
    """split -> shared: b2b takes both pools, b2c mirrors what Shopify is to show."""
    row = ProductRow(2, ProductId("p"), policy="shared", buffer=5, cap=50)

    change = row_change(_product(b2b=100, b2c=20), row, DEFAULT_ALLOCATION)

    assert change is not None
    assert change.changes == (
        FieldChange("allocation_policy", "split", "shared"),
        FieldChange("allocation_buffer", 0, 5),
        FieldChange("allocation_cap", "none", "50"),
    )
    assert change.moves == (FieldChange("b2b_stock", 100, 120), FieldChange("b2c_stock", 20, 50))
    assert change.allocation == Allocation("shared", 5, 50)
    assert change.explanation == (
        "Shopify shows 50: pool 120 (b2b_stock, shared) minus buffer 5 = 115; cap 50 reached"
    )


def test_diff_moves_units_after_the_rows_own_stock_cells() -> None:
    """shared -> split with a new b2b_stock: the switch starts from the file's stocks."""
    shared = _product(b2b=30, b2c=25, allocation_policy="shared", allocation_buffer=5)
    row = ProductRow(2, ProductId("p"), b2b_stock=40, policy="split")

    change = row_change(shared, row, DEFAULT_ALLOCATION)

    assert change is not None
    assert change.changes == (
        FieldChange("b2b_stock", 30, 40),
        FieldChange("allocation_policy", "shared", "split"),
    )
    assert change.moves == (FieldChange("b2b_stock", 40, 5), FieldChange("b2c_stock", 25, 35))


@pytest.mark.parametrize(
    ("row", "own"),
    [
        (ProductRow(2, ProductId("p"), policy="split", buffer=0, clear_cap=True), {}),
        (ProductRow(2, ProductId("p")), {"allocation_policy": "shared"}),
        (
            ProductRow(2, ProductId("p"), buffer=3),
            {"allocation_policy": "split", "allocation_buffer": 3},
        ),
    ],
)
def test_a_row_restating_the_allocation_that_applies_changes_nothing(
    row: ProductRow, own: dict[str, Any]
) -> None:
    """The allocation that applies (own, else the default) restated, or left blank: no change."""
    assert row_change(_product(**own), row, DEFAULT_ALLOCATION) is None


def test_buffer_or_cap_alone_moves_no_units() -> None:
    """Under the same policy only what Shopify shows changes, never the stocks."""
    row = ProductRow(2, ProductId("p"), buffer=4, cap=10)

    change = row_change(_product(b2b=100, b2c=20), row, DEFAULT_ALLOCATION)

    assert change is not None and change.moves == ()
    assert change.explanation == (
        "Shopify shows 10: pool 20 (b2c_stock, split) minus buffer 4 = 16; cap 10 reached"
    )


def test_a_new_product_gets_the_rows_allocation_without_moves() -> None:
    """A product we do not have yet takes the file's stocks and allocation as they are."""
    row = ProductRow(2, ProductId("p"), b2b_stock=9, policy="shared")

    change = row_change(None, row, DEFAULT_ALLOCATION)

    assert change is not None and change.created and change.moves == ()
    assert change.allocation == Allocation("shared")
    assert [d.column for d in change.changes] == ["b2b_stock", "allocation_policy"]
