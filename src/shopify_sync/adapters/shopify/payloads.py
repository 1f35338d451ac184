"""Adapter: Shopify's inventory answers parsed at the edge and mapped to domain values.

Levels (``ReadLevels`` and the bulk JSONL rows), ``inventorySetQuantities`` answers and
bulk operation states. Pydantic models mirror only the fields our documents select;
what leaves this module is a domain type or a small frozen value of the adapter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated

from pydantic import AwareDatetime, Field, JsonValue, ValidationError

from shopify_sync.adapters.shopify.envelope import (
    FIRST_MATCH,
    MalformedResponse,
    Model,
    UserError,
    gid_number,
    parse_data,
)
from shopify_sync.domain.model import (
    LevelRead,
    QuantityWrite,
    WriteError,
    WriteErrorKind,
    WriteResult,
)
from shopify_sync.types import InventoryItemId

STALE_CODES = frozenset({"COMPARE_QUANTITY_STALE", "CHANGE_FROM_QUANTITY_STALE"})
RETRY_CODES = frozenset({"IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"})
CONCURRENT_REQUEST = "IDEMPOTENCY_CONCURRENT_REQUEST"
KEY_MISMATCH = "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"

# -- inventory levels -----------------------------------------------------------------------


class _Quantity(Model):
    name: str | None = None
    quantity: int
    updated_at: AwareDatetime | None = None


class _Level(Model):
    updated_at: AwareDatetime | None = None
    quantities: list[_Quantity] = Field(default_factory=list)


class InventoryItemNode(Model):
    """An inventory item with its level at our location (also one row of the bulk JSONL)."""

    id: str | None = None
    tracked: bool = True
    inventory_level: _Level | None = None


class _LevelsData(Model):
    nodes: list[InventoryItemNode | None]


def _level_read(
    item: InventoryItemId, node: InventoryItemNode | None, *, set_anywhere: bool = False
) -> LevelRead:
    if node is None or node.id is None:
        return LevelRead(item, available=None, updated_at=None, tracked=False, known=False)
    level = node.inventory_level
    if level is None:
        # Not stocked at our location. From 2026-10 a write stocks it there: nothing is
        # available there yet, and our quantity can be set like any other.
        settable = 0 if set_anywhere else None
        return LevelRead(item, available=settable, updated_at=None, tracked=node.tracked)
    available = next((q for q in level.quantities if q.name in (None, "available")), None)
    if available is None:
        raise MalformedResponse(f"no available quantity for inventory item {item}")
    # The level's updatedAt is what inventory_levels/update webhooks carry as updated_at.
    updated_at = level.updated_at or available.updated_at
    return LevelRead(
        item, available=available.quantity, updated_at=updated_at, tracked=node.tracked
    )


def level_reads(
    data: Mapping[str, JsonValue] | None,
    requested: Sequence[InventoryItemId],
    *,
    set_anywhere: bool = False,
) -> dict[InventoryItemId, LevelRead]:
    """Map a ``ReadLevels`` answer (nodes in request order) to one read per requested id.

    ``set_anywhere`` (2026-10 on): an item not stocked at our location reads as 0 available,
    since a write stocks it there; before, it reads as not stocked (``available`` None).
    """
    nodes = parse_data(_LevelsData, data).nodes
    if len(nodes) != len(requested):
        raise MalformedResponse(f"asked for {len(requested)} nodes, got {len(nodes)}")
    return {
        item: _level_read(item, node, set_anywhere=set_anywhere)
        for item, node in zip(requested, nodes, strict=True)
    }


def snapshot_row(line: str, *, set_anywhere: bool = False) -> LevelRead:
    """One JSONL line of the snapshot bulk operation (``set_anywhere`` as for ReadLevels)."""
    try:
        node = InventoryItemNode.model_validate_json(line)
    except ValidationError as exc:
        raise MalformedResponse(f"unexpected bulk row: {exc.error_count()} problems") from exc
    if node.id is None:
        raise MalformedResponse("bulk row without an id")
    item = InventoryItemId(gid_number("InventoryItem", node.id))
    return _level_read(item, node, set_anywhere=set_anywhere)


# -- writes ---------------------------------------------------------------------------------


class _AdjustmentGroup(Model):
    id: str
    created_at: AwareDatetime | None = None


class SetUserError(Model):
    """One ``userErrors`` entry of ``inventorySetQuantities``."""

    code: str | None = None
    field: list[str] | None = None
    message: str = ""


class _SetPayload(Model):
    inventory_adjustment_group: _AdjustmentGroup | None = None
    user_errors: list[SetUserError] = Field(default_factory=list)


class _SetData(Model):
    inventory_set_quantities: _SetPayload


def set_user_errors(data: Mapping[str, JsonValue] | None) -> list[SetUserError]:
    """The userErrors of a ``SetAvailable`` answer (empty on success)."""
    return parse_data(_SetData, data).inventory_set_quantities.user_errors


def _entry_index(field: Sequence[str] | None) -> int | None:
    # Shopify names the failing entry as ["input", "quantities", "<index>", "<field>"].
    if not field or "quantities" not in field:
        return None
    position = field.index("quantities") + 1
    if position < len(field) and field[position].isdigit():
        return int(field[position])
    return None


def _kind(code: str | None) -> WriteErrorKind:
    if code in STALE_CODES:
        return WriteErrorKind.STALE
    if code in RETRY_CODES:
        return WriteErrorKind.RETRY
    # Unknown item/location, untracked, not stocked, out of range, and any code we do not
    # know yet: retrying the same entry cannot succeed.
    return WriteErrorKind.PERMANENT


def write_result(
    data: Mapping[str, JsonValue] | None, sent: Sequence[QuantityWrite]
) -> WriteResult:
    """
    Map a ``SetAvailable`` answer to a :class:`WriteResult`.

    Args:
        data: the answer's ``data``.
        sent: the entries in the order they were sent, to name the item of each userError.
    """
    payload = parse_data(_SetData, data).inventory_set_quantities
    if not payload.user_errors:
        group = payload.inventory_adjustment_group
        # No group and no error: nothing changed (every quantity already had its value).
        return WriteResult(
            applied=True,
            applied_at=group.created_at if group is not None else None,
            adjustment_group_id=group.id if group is not None else None,
        )
    errors = []
    for error in payload.user_errors:
        index = _entry_index(error.field)
        item = sent[index].inventory_item_id if index is not None and index < len(sent) else None
        code = error.code or "UNKNOWN"
        errors.append(WriteError(_kind(error.code), code, error.message, item))
    return WriteResult(applied=False, errors=tuple(errors))


# -- bulk operations ------------------------------------------------------------------------


class BulkOperation(Model):
    """The state of a bulk operation."""

    id: str
    status: str
    error_code: str | None = None
    object_count: str | int | None = None
    url: str | None = None
    partial_data_url: str | None = None


class _RunPayload(Model):
    bulk_operation: BulkOperation | None = None
    user_errors: list[UserError] = Field(default_factory=list)


class _RunData(Model):
    bulk_operation_run_query: _RunPayload


def started_bulk_operation(data: Mapping[str, JsonValue] | None) -> BulkOperation | list[UserError]:
    """The started operation, or Shopify's reasons for not starting it."""
    payload = parse_data(_RunData, data).bulk_operation_run_query
    if payload.user_errors or payload.bulk_operation is None:
        return payload.user_errors or [UserError(message="no bulk operation returned")]
    return payload.bulk_operation


class _PollData(Model):
    bulk_operation: Annotated[BulkOperation | dict[str, JsonValue] | None, FIRST_MATCH] = None


def polled_bulk_operation(data: Mapping[str, JsonValue] | None) -> BulkOperation | None:
    """The operation's state; None when Shopify does not know the id."""
    polled = parse_data(_PollData, data).bulk_operation
    return polled if isinstance(polled, BulkOperation) else None
