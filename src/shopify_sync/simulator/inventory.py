"""Inventory mutations with Shopify's validation: set (absolute, CAS), adjust (delta), activate.

`set_quantities` and `adjust_quantities` are all-or-nothing per call: every entry is checked
first, and one failing entry means nothing is written and every problem is reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shopify_sync.simulator.ids import parse_gid
from shopify_sync.simulator.model import InventoryItem, Level, Location
from shopify_sync.simulator.store import LevelMove, Store
from shopify_sync.simulator.versions import VersionRules

REASONS: frozenset[str] = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_created",
        "movement_updated",
        "movement_received",
        "movement_canceled",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
ADJUSTABLE_NAMES: frozenset[str] = frozenset(
    {"available", "damaged", "incoming", "quality_control", "reserved", "safety_stock"}
)
SET_LIMIT = 1_000_000_000
ADJUST_LIMIT = 2_000_000_000
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")


@dataclass(frozen=True, slots=True)
class UserError:
    """A business error reported in a payload's `userErrors`; `code` None for plain UserError."""

    code: str | None
    field: list[str] | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "message": self.message}


def _check_common(input_: Mapping[str, Any]) -> list[UserError]:
    errors: list[UserError] = []
    if input_["reason"] not in REASONS:
        errors.append(
            UserError("INVALID_REASON", ["input", "reason"], "The specified reason is invalid.")
        )
    uri = input_.get("referenceDocumentUri")
    if uri is not None and not _URI.match(uri):
        errors.append(
            UserError(
                "INVALID_REFERENCE_DOCUMENT",
                ["input", "referenceDocumentUri"],
                "The specified reference document is invalid.",
            )
        )
    return errors


def _find(
    store: Store, entry: Mapping[str, Any], path: list[str]
) -> tuple[InventoryItem | None, Location | None, list[UserError]]:
    item_id = parse_gid(entry["inventoryItemId"], "InventoryItem")
    item = store.items.get(item_id) if item_id is not None else None
    location_id = parse_gid(entry["locationId"], "Location")
    location = store.locations.get(location_id) if location_id is not None else None
    errors = []
    if item is None:
        errors.append(
            UserError(
                "INVALID_INVENTORY_ITEM",
                [*path, "inventoryItemId"],
                "The specified inventory item could not be found.",
            )
        )
    if location is None:
        errors.append(
            UserError(
                "INVALID_LOCATION",
                [*path, "locationId"],
                "The specified location could not be found.",
            )
        )
    return item, location, errors


def _stocked_level(
    store: Store, rules: VersionRules, item: InventoryItem, location: Location, path: list[str]
) -> tuple[Level | None, UserError | None]:
    level = item.levels.get(location.id)
    if level is not None and level.active:
        return level, None
    if rules.requires_stocked:
        return None, UserError(
            "ITEM_NOT_STOCKED_AT_LOCATION",
            [*path, "locationId"],
            "The specified inventory item is not stocked at the location.",
        )
    # From 2026-10 quantities can be changed at any location: stock it on the fly.
    return store.connect(item, location, 0), None


def _cas_error(
    rules: VersionRules, entry: Mapping[str, Any], current: int, ignore: bool, path: list[str]
) -> UserError | None:
    if rules.change_from_supported and "changeFromQuantity" in entry:
        expected = entry["changeFromQuantity"]
        if expected is not None and expected != current:
            return UserError(
                "CHANGE_FROM_QUANTITY_STALE",
                [*path, "changeFromQuantity"],
                "The changeFromQuantity value does not match persisted value.",
            )
        return None
    if rules.change_from_required:
        # No dedicated code exists; this one says the same thing for the new field.
        return UserError(
            "COMPARE_QUANTITY_REQUIRED",
            [*path, "changeFromQuantity"],
            "The changeFromQuantity argument must be given to each quantity "
            "(pass null to skip the compare-and-swap check).",
        )
    if ignore:
        return None
    compare = entry.get("compareQuantity")
    if compare is None:
        return UserError(
            "COMPARE_QUANTITY_REQUIRED",
            [*path, "compareQuantity"],
            "The compareQuantity argument must be given to each quantity or ignored using "
            "ignoreCompareQuantity.",
        )
    if compare != current:
        return UserError(
            "COMPARE_QUANTITY_STALE",
            [*path, "compareQuantity"],
            "The compareQuantity value does not match persisted value.",
        )
    return None


def set_quantities(
    store: Store, rules: VersionRules, input_: Mapping[str, Any], *, source: str = "app"
) -> tuple[Any, list[UserError]]:
    """Run `inventorySetQuantities`; returns (AdjustmentGroup or None, userErrors)."""
    name = input_["name"]
    errors = _check_common(input_)
    if name not in ("available", "on_hand"):
        errors.append(
            UserError(
                "INVALID_NAME",
                ["input", "name"],
                "The quantity name must be either 'available' or 'on_hand'.",
            )
        )
    ignore = bool(input_.get("ignoreCompareQuantity"))
    seen: set[tuple[int, int]] = set()
    planned: list[tuple[InventoryItem, Location, Mapping[str, Any], list[str]]] = []
    entries: Sequence[Mapping[str, Any]] = input_["quantities"]
    for index, entry in enumerate(entries):
        path = ["input", "quantities", str(index)]
        item, location, found_errors = _find(store, entry, path)
        errors.extend(found_errors)
        if item is None or location is None:
            continue
        if (item.id, location.id) in seen:
            errors.append(
                UserError(
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                    [*path, "inventoryItemId"],
                    "The combination of inventoryItemId and locationId must be unique.",
                )
            )
            continue
        seen.add((item.id, location.id))
        target = entry["quantity"]
        if target < 0:
            errors.append(
                UserError(
                    "INVALID_QUANTITY_NEGATIVE",
                    [*path, "quantity"],
                    "The quantity can't be negative.",
                )
            )
        elif target > SET_LIMIT:
            errors.append(
                UserError(
                    "INVALID_QUANTITY_TOO_HIGH",
                    [*path, "quantity"],
                    "The total quantity can't be higher than 1,000,000,000.",
                )
            )
        level = item.levels.get(location.id)
        if (level is None or not level.active) and rules.requires_stocked:
            _, stock_error = _stocked_level(store, rules, item, location, path)
            if stock_error is not None:
                errors.append(stock_error)
            continue
        current = (
            level.quantity(name) or 0
            if level is not None and name in ("available", "on_hand")
            else 0
        )
        cas = _cas_error(rules, entry, current, ignore, path)
        if cas is not None:
            errors.append(cas)
        planned.append((item, location, entry, path))
    if errors:
        return None, errors
    moves: list[LevelMove] = []
    for item, location, entry, path in planned:
        level, _ = _stocked_level(store, rules, item, location, path)
        assert level is not None  # checked above, or stocked on the fly from 2026-10
        current = level.on_hand if name == "on_hand" else level.available
        moves.append(LevelMove(level, "available", entry["quantity"] - current))
    group = store.apply(
        moves,
        reason=input_["reason"],
        reference_document_uri=input_.get("referenceDocumentUri"),
        source=source,
    )
    return group, []


def _ledger_errors(name: str, changes: Sequence[Mapping[str, Any]]) -> list[UserError]:
    errors: list[UserError] = []
    ledgers = {change.get("ledgerDocumentUri") for change in changes}
    for index, change in enumerate(changes):
        path = ["input", "changes", str(index), "ledgerDocumentUri"]
        ledger = change.get("ledgerDocumentUri")
        if name == "available" and ledger is not None:
            errors.append(
                UserError(
                    "INVALID_AVAILABLE_DOCUMENT",
                    path,
                    "The ledgerDocumentUri is not allowed when adjusting available.",
                )
            )
        elif name != "available" and ledger is None:
            errors.append(
                UserError(
                    "INVALID_QUANTITY_DOCUMENT",
                    path,
                    "A ledger document URI is required except when adjusting available.",
                )
            )
        elif ledger is not None and ledger.startswith("gid://shopify/"):
            errors.append(
                UserError("INTERNAL_LEDGER_DOCUMENT", path, "A ledger document URI is not allowed.")
            )
        elif ledger is not None and not _URI.match(ledger):
            errors.append(
                UserError(
                    "INVALID_LEDGER_DOCUMENT", path, "The specified ledger document is invalid."
                )
            )
    if name != "available" and len(ledgers) > 1:
        errors.append(
            UserError(
                "MAX_ONE_LEDGER_DOCUMENT",
                ["input", "changes"],
                "Only one ledger document URI is allowed per call.",
            )
        )
    return errors


def adjust_quantities(
    store: Store, rules: VersionRules, input_: Mapping[str, Any], *, source: str = "app"
) -> tuple[Any, list[UserError]]:
    """Run `inventoryAdjustQuantities`; returns (AdjustmentGroup or None, userErrors)."""
    name = input_["name"]
    changes: Sequence[Mapping[str, Any]] = input_["changes"]
    errors = _check_common(input_)
    if name not in ADJUSTABLE_NAMES:
        errors.append(
            UserError("INVALID_QUANTITY_NAME", ["input", "name"], "The quantity name is invalid.")
        )
        return None, errors
    errors.extend(_ledger_errors(name, changes))
    planned: list[tuple[InventoryItem, Location, Mapping[str, Any], list[str]]] = []
    pending: dict[tuple[int, int], int] = {}
    for index, change in enumerate(changes):
        path = ["input", "changes", str(index)]
        item, location, found_errors = _find(store, change, path)
        errors.extend(found_errors)
        if item is None or location is None:
            continue
        level = item.levels.get(location.id)
        if (level is None or not level.active) and rules.requires_stocked:
            _, stock_error = _stocked_level(store, rules, item, location, path)
            if stock_error is not None:
                errors.append(stock_error)
            continue
        current = pending.get((item.id, location.id))
        if current is None:
            current = (level.quantity(name) or 0) if level is not None else 0
        if rules.change_from_supported and "changeFromQuantity" in change:
            expected = change["changeFromQuantity"]
            if expected is not None and expected != current:
                errors.append(
                    UserError(
                        "CHANGE_FROM_QUANTITY_STALE",
                        [*path, "changeFromQuantity"],
                        "The changeFromQuantity value does not match persisted value.",
                    )
                )
        elif rules.change_from_required:
            errors.append(
                UserError(
                    None,
                    [*path, "changeFromQuantity"],
                    "The changeFromQuantity argument must be given to each change "
                    "(pass null to skip the compare-and-swap check).",
                )
            )
        after = current + change["delta"]
        pending[(item.id, location.id)] = after
        if after > ADJUST_LIMIT:
            errors.append(
                UserError(
                    "INVALID_QUANTITY_TOO_HIGH",
                    [*path, "delta"],
                    "The quantity can't be higher than 2,000,000,000.",
                )
            )
        elif after < -ADJUST_LIMIT:
            errors.append(
                UserError(
                    "INVALID_QUANTITY_TOO_LOW",
                    [*path, "delta"],
                    "The quantity can't be lower than -2,000,000,000.",
                )
            )
        planned.append((item, location, change, path))
    if errors:
        return None, errors
    moves = []
    for item, location, change, path in planned:
        level, _ = _stocked_level(store, rules, item, location, path)
        assert level is not None
        moves.append(LevelMove(level, name, change["delta"], change.get("ledgerDocumentUri")))
    group = store.apply(
        moves,
        reason=input_["reason"],
        reference_document_uri=input_.get("referenceDocumentUri"),
        source=source,
    )
    return group, []


def activate(
    store: Store,
    rules: VersionRules,
    item_gid: str,
    location_gid: str,
    available: int | None,
    on_hand: int | None,
) -> tuple[Level | None, list[UserError]]:
    """Run `inventoryActivate`: stock an item at a location (errors are plain UserErrors)."""
    item, location, errors = _find(
        store, {"inventoryItemId": item_gid, "locationId": location_gid}, []
    )
    if item is None or location is None:
        return None, [UserError(None, e.field, e.message) for e in errors]
    level = item.levels.get(location.id)
    if level is not None and level.active:
        return level, []
    keep = rules.activate_keeps_quantities and level is not None
    start = level.available if keep and level is not None else 0
    if available is not None:
        start = available
    level = store.connect(item, location, start)
    if on_hand is not None and available is None:
        store.apply(
            [LevelMove(level, "available", on_hand - level.on_hand)],
            reason="correction",
            reference_document_uri=None,
            source="app",
        )
    return level, []
