"""Resolvers of the Mutation fields the simulator implements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shopify_sync.simulator.gql.idempotency import MESSAGES
from shopify_sync.simulator.gql.objects import Info, ctx, topic_name
from shopify_sync.simulator.ids import parse_gid
from shopify_sync.simulator.inventory import UserError, activate, adjust_quantities, set_quantities
from shopify_sync.simulator.orders import LineSpec, cancel_order, create_order
from shopify_sync.simulator.webhooks.subscriptions import (
    create_subscription,
    delete_subscription,
    update_subscription,
)

Payload = dict[str, Any]


def idempotent(
    info: Info, run: Callable[[], Payload], failed: Callable[[UserError], Payload]
) -> Payload:
    """Run a mutation under the request's idempotency decision for this field."""
    context = ctx(info)
    decision = context.idempotency.get(str(info.path.key))
    if decision is None:
        return run()
    if decision.replay is not None:
        replayed: Payload = decision.replay
        return replayed
    if decision.error_code is not None:
        code = decision.error_code
        return failed(UserError(code, ["idempotencyKey"], MESSAGES[code]))
    payload = run()
    context.keys.finish(decision.key, payload, failed=bool(payload["userErrors"]))
    return payload


def _group_payload(group: Any, errors: list[UserError]) -> Payload:
    return {"inventoryAdjustmentGroup": group, "userErrors": [e.as_dict() for e in errors]}


def _set(_: Any, info: Info, input: dict[str, Any]) -> Payload:
    context = ctx(info)
    return idempotent(
        info,
        lambda: _group_payload(*set_quantities(context.store, context.rules, input)),
        lambda error: _group_payload(None, [error]),
    )


def _adjust(_: Any, info: Info, input: dict[str, Any]) -> Payload:
    context = ctx(info)
    return idempotent(
        info,
        lambda: _group_payload(*adjust_quantities(context.store, context.rules, input)),
        lambda error: _group_payload(None, [error]),
    )


def _activate(_: Any, info: Info, inventoryItemId: str, locationId: str, **args: Any) -> Payload:
    context = ctx(info)

    def run() -> Payload:
        level, errors = activate(
            context.store,
            context.rules,
            inventoryItemId,
            locationId,
            args.get("available"),
            args.get("onHand"),
        )
        return {
            "inventoryLevel": level,
            "userErrors": [{"field": e.field, "message": e.message} for e in errors],
        }

    return idempotent(
        info,
        run,
        lambda error: {
            "inventoryLevel": None,
            "userErrors": [{"field": error.field, "message": error.message}],
        },
    )


def _subscription_payload(sub: Any, errors: list[UserError]) -> Payload:
    return {
        "webhookSubscription": sub,
        "userErrors": [{"field": e.field, "message": e.message} for e in errors],
    }


def _subscription_create(_: Any, info: Info, topic: str, webhookSubscription: Payload) -> Payload:
    context = ctx(info)
    sub, errors = create_subscription(
        context.store, topic_name(topic), webhookSubscription, context.version
    )
    return _subscription_payload(sub, errors)


def _subscription_update(_: Any, info: Info, id: str, webhookSubscription: Payload) -> Payload:
    context = ctx(info)
    sub, errors = update_subscription(
        context.store, parse_gid(id, "WebhookSubscription"), webhookSubscription
    )
    return _subscription_payload(sub, errors)


def _subscription_delete(_: Any, info: Info, id: str) -> Payload:
    errors = delete_subscription(ctx(info).store, parse_gid(id, "WebhookSubscription"))
    return {
        "deletedWebhookSubscriptionId": None if errors else id,
        "userErrors": [{"field": e.field, "message": e.message} for e in errors],
    }


def _product_create(_: Any, info: Info, **args: Any) -> Payload:
    store = ctx(info).store
    spec = args.get("product") or args.get("input") or {}
    title = spec.get("title")
    if not title:
        return {
            "product": None,
            "shop": store,
            "userErrors": [{"field": ["title"], "message": "Title can't be blank"}],
        }
    product = store.add_product(
        title, handle=spec.get("handle"), vendor=spec.get("vendor") or "Simulator"
    )
    product.product_type = spec.get("productType") or ""
    product.status = spec.get("status") or "ACTIVE"
    # Shopify gives every new product a standalone default variant without a SKU.
    variant = store.add_variant(product, None)
    location = store.primary_location()
    if location is not None:
        store.stock(store.items[variant.inventory_item_id], location, 0)
    return {"product": product, "shop": store, "userErrors": []}


def _variants_bulk_create(
    _: Any, info: Info, productId: str, variants: list[Payload], **args: Any
) -> Payload:
    context = ctx(info)
    store = context.store
    product = store.products.get(parse_gid(productId, "Product") or 0)
    if product is None:
        return {
            "product": None,
            "productVariants": None,
            "userErrors": [
                {
                    "code": "PRODUCT_DOES_NOT_EXIST",
                    "field": ["productId"],
                    "message": "Product does not exist",
                }
            ],
        }
    errors = []
    for index, spec in enumerate(variants):
        for level_index, level in enumerate(spec.get("inventoryQuantities") or []):
            if store.locations.get(parse_gid(level["locationId"], "Location") or 0) is None:
                errors.append(
                    {
                        "code": "TRACKED_VARIANT_LOCATION_NOT_FOUND",
                        "field": ["variants", str(index), "inventoryQuantities", str(level_index)],
                        "message": "Location does not exist",
                    }
                )
    if errors:
        return {"product": product, "productVariants": None, "userErrors": errors}
    if args.get("strategy", "DEFAULT") != "PRESERVE_STANDALONE_VARIANT":
        store.remove_standalone_variant(product)
    created = []
    for spec in variants:
        item_spec = spec.get("inventoryItem") or {}
        sku = item_spec.get("sku")
        options = spec.get("optionValues") or []
        title = (
            " / ".join(str(o.get("name")) for o in options if o.get("name"))
            or sku
            or "Default Title"
        )
        variant = store.add_variant(
            product,
            sku,
            title=title,
            price=str(spec.get("price") or "0.00"),
            tracked=item_spec.get("tracked", True) is not False,
            inventory_policy=spec.get("inventoryPolicy") or "DENY",
        )
        item = store.items[variant.inventory_item_id]
        for level in spec.get("inventoryQuantities") or []:
            location = store.locations[parse_gid(level["locationId"], "Location") or 0]
            store.connect(item, location, level["availableQuantity"])
        created.append(variant)
    return {"product": product, "productVariants": created, "userErrors": []}


def _order_create(_: Any, info: Info, order: Payload, options: Payload | None = None) -> Payload:
    store = ctx(info).store
    lines = [
        LineSpec(
            quantity=line["quantity"],
            variant_id=parse_gid(line["variantId"], "ProductVariant")
            if line.get("variantId")
            else None,
            title=line.get("title"),
            price=((line.get("priceSet") or {}).get("shopMoney") or {}).get("amount"),
            sku=line.get("sku"),
        )
        for line in order.get("lineItems") or []
    ]
    behaviour = (options or {}).get("inventoryBehaviour") or "BYPASS"
    placed, errors = create_order(
        store,
        lines,
        behaviour=behaviour,
        email=order.get("email"),
        test=bool(order.get("test")),
        financial_status=(order.get("financialStatus") or "PAID").lower(),
        note=order.get("note"),
    )
    return {"order": placed, "userErrors": [e.as_dict() for e in errors]}


def _order_cancel(
    _: Any, info: Info, orderId: str, reason: str, restock: bool, **args: Any
) -> Payload:
    store = ctx(info).store
    order, errors = cancel_order(
        store, parse_gid(orderId, "Order") or 0, reason=reason, restock=restock
    )
    job = {"id": f"gid://shopify/Job/{store.ids.next('Job')}", "done": True, "query": None}
    return {
        "job": job if order is not None else None,
        "orderCancelUserErrors": [e.as_dict() for e in errors],
        "userErrors": [{"field": e.field, "message": e.message} for e in errors],
    }


def _bulk_run_query(_: Any, info: Info, query: str, **args: Any) -> Payload:
    context = ctx(info)
    operation, errors = context.bulk.start_query(query, context.rules, context.base_url)
    return {"bulkOperation": operation, "userErrors": [e.as_dict() for e in errors]}


def _bulk_cancel(_: Any, info: Info, id: str) -> Payload:
    manager = ctx(info).bulk
    operation = manager.get(parse_gid(id, "BulkOperation"))
    if operation is None:
        return {
            "bulkOperation": None,
            "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}],
        }
    manager.cancel(operation)
    return {"bulkOperation": operation, "userErrors": []}


MUTATION_RESOLVERS: dict[str, Any] = {
    "inventorySetQuantities": _set,
    "inventoryAdjustQuantities": _adjust,
    "inventoryActivate": _activate,
    "webhookSubscriptionCreate": _subscription_create,
    "webhookSubscriptionUpdate": _subscription_update,
    "webhookSubscriptionDelete": _subscription_delete,
    "productCreate": _product_create,
    "productVariantsBulkCreate": _variants_bulk_create,
    "orderCreate": _order_create,
    "orderCancel": _order_cancel,
    "bulkOperationRunQuery": _bulk_run_query,
    "bulkOperationCancel": _bulk_cancel,
}
