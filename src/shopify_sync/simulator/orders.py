"""Orders: placing one claims stock (available down, committed up); cancelling can restock it."""

from __future__ import annotations

from dataclasses import dataclass

from shopify_sync.simulator.events import OrderCancelled, OrderCreated
from shopify_sync.simulator.inventory import UserError
from shopify_sync.simulator.model import LineItem, Order, Variant
from shopify_sync.simulator.store import LevelMove, Store

BEHAVIOURS = ("BYPASS", "DECREMENT_IGNORING_POLICY", "DECREMENT_OBEYING_POLICY")


@dataclass(frozen=True, slots=True)
class LineSpec:
    """A requested order line: a variant, or a custom line with a title."""

    quantity: int
    variant_id: int | None = None
    title: str | None = None
    price: str | None = None
    sku: str | None = None


def _claim_location(store: Store, variant: Variant, quantity: int, behaviour: str) -> int | None:
    """Pick where the units come from: the first location (by id) that has them all, else the
    first that stocks the item (only when the policy may be ignored, or allows overselling)."""
    item = store.items[variant.inventory_item_id]
    stocked = [item.levels[key] for key in sorted(item.levels) if item.levels[key].active]
    if not item.tracked or not stocked:
        return None
    for level in stocked:
        if level.available >= quantity:
            return level.location_id
    if behaviour == "DECREMENT_OBEYING_POLICY" and variant.inventory_policy == "DENY":
        raise LookupError(variant.sku or str(variant.id))
    return stocked[0].location_id


def create_order(
    store: Store,
    lines: list[LineSpec],
    *,
    behaviour: str = "BYPASS",
    email: str | None = None,
    test: bool = False,
    financial_status: str = "paid",
    note: str | None = None,
) -> tuple[Order | None, list[UserError]]:
    """Place an order; with a DECREMENT behaviour each tracked line claims stock at a location."""
    if not lines:
        return None, [UserError("INVALID", ["order", "lineItems"], "Line items can't be blank.")]
    built: list[LineItem] = []
    for index, spec in enumerate(lines):
        path = ["order", "lineItems", str(index)]
        if spec.quantity <= 0:
            return None, [UserError("INVALID", [*path, "quantity"], "Quantity must be positive.")]
        variant = store.variants.get(spec.variant_id) if spec.variant_id is not None else None
        if spec.variant_id is not None and variant is None:
            return None, [UserError("INVALID", [*path, "variantId"], "Variant does not exist.")]
        location_id = None
        if variant is not None and behaviour != "BYPASS":
            try:
                location_id = _claim_location(store, variant, spec.quantity, behaviour)
            except LookupError:
                return None, [
                    UserError(
                        "INVENTORY_CLAIM_FAILED",
                        [*path, "quantity"],
                        f"Not enough inventory available for {variant.sku or variant.id}.",
                    )
                ]
        product = store.products.get(variant.product_id) if variant is not None else None
        built.append(
            LineItem(
                id=store.ids.next("LineItem"),
                variant_id=variant.id if variant else None,
                product_id=product.id if product else None,
                sku=variant.sku if variant else spec.sku,
                title=product.title if product else (spec.title or "Custom item"),
                variant_title=variant.title if variant else None,
                quantity=spec.quantity,
                price=spec.price or (variant.price if variant else "0.00"),
                location_id=location_id,
            )
        )
    now = store.now()
    order = Order(
        id=store.ids.next("Order"),
        number=store.next_order_number,
        created_at=now,
        updated_at=now,
        line_items=built,
        email=email,
        test=test,
        financial_status=financial_status,
        inventory_behaviour=behaviour,
        note=note,
    )
    store.next_order_number += 1
    store.orders[order.id] = order
    moves: list[LevelMove] = []
    for line in built:
        if line.location_id is None or line.variant_id is None:
            continue
        level = store.items[store.variants[line.variant_id].inventory_item_id].levels[
            line.location_id
        ]
        moves += [
            LevelMove(level, "available", -line.quantity),
            LevelMove(level, "committed", line.quantity),
        ]
    if moves:
        store.apply(
            moves,
            reason="reservation_created",
            reference_document_uri=f"gid://shopify/Order/{order.id}",
            source="order",
        )
    store.emit(OrderCreated(order))
    return order, []


def cancel_order(
    store: Store, order_id: int, *, reason: str, restock: bool
) -> tuple[Order | None, list[UserError]]:
    """Cancel an order; with `restock` the claimed units go back to `available`."""
    order = store.orders.get(order_id)
    if order is None:
        return None, [UserError("NOT_FOUND", ["orderId"], "Order does not exist.")]
    if order.cancelled_at is not None:
        return None, [UserError("INVALID", ["orderId"], "Order has already been cancelled.")]
    moves: list[LevelMove] = []
    for line in order.line_items:
        if line.location_id is None or line.variant_id is None or line.restocked:
            continue
        variant = store.variants.get(line.variant_id)
        if variant is None:
            continue
        level = store.items[variant.inventory_item_id].levels[line.location_id]
        moves.append(LevelMove(level, "committed", -line.quantity))
        if restock:
            moves.append(LevelMove(level, "available", line.quantity))
        line.restocked = True
    if moves:
        store.apply(
            moves,
            reason="restock" if restock else "reservation_deleted",
            reference_document_uri=f"gid://shopify/Order/{order.id}",
            source="cancel",
        )
    now = store.now()
    order.cancelled_at = now
    order.updated_at = now
    order.cancel_reason = reason.lower()
    store.emit(OrderCancelled(order))
    return order, []
