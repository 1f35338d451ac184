"""Resolvers of the QueryRoot fields the simulator implements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLError

from shopify_sync.simulator.gql.connection import Term, connection, parse_search, term_matches
from shopify_sync.simulator.gql.objects import Info, ctx, topic_name
from shopify_sync.simulator.ids import gid_kind, parse_gid
from shopify_sync.simulator.model import InventoryItem, Product, Variant
from shopify_sync.simulator.store import Store
from shopify_sync.simulator.timefmt import parse_iso

MAX_NODES = 250


def node_by_gid(store: Store, info: Info, value: str) -> Any:
    """Return the record a global id names, or None."""
    parsed = gid_kind(value)
    if parsed is None:
        return None
    kind, number = parsed
    if kind == "InventoryLevel":
        item_id = _query_param(value, "inventory_item_id")
        item = store.items.get(item_id) if item_id is not None else None
        if item is None:
            return None
        return next((lv for lv in item.levels.values() if lv.id == number), None)
    if kind == "BulkOperation":
        return ctx(info).bulk.get(number)
    tables: dict[str, dict[int, Any]] = {
        "ProductVariant": store.variants,
        "InventoryItem": store.items,
        "Location": store.locations,
        "Product": store.products,
        "Order": store.orders,
        "WebhookSubscription": store.subscriptions,
    }
    table = tables.get(kind)
    return table.get(number) if table is not None else None


def _query_param(value: str, name: str) -> int | None:
    _, _, query = value.partition("?")
    for pair in query.split("&"):
        key, _, raw = pair.partition("=")
        if key == name and raw.isdigit():
            return int(raw)
    return None


def _nodes(_: Any, info: Info, ids: list[str]) -> list[Any]:
    if len(ids) > MAX_NODES:
        raise GraphQLError(f"The ids argument cannot exceed {MAX_NODES} items.")
    store = ctx(info).store
    return [node_by_gid(store, info, value) for value in ids]


def _variant_fields(store: Store, variant: Variant) -> dict[str, Any]:
    return {
        "sku": variant.sku,
        "id": variant.id,
        "product_id": variant.product_id,
        "title": variant.title,
        "updated_at": variant.updated_at,
        "created_at": variant.created_at,
    }


def _item_fields(store: Store, item: InventoryItem) -> dict[str, Any]:
    return {
        "sku": item.sku,
        "id": item.id,
        "updated_at": item.updated_at,
        "created_at": item.created_at,
    }


def _matches(term: Term, fields: dict[str, Any]) -> bool:
    if term.field is None:
        text = term.value.lower()
        return any(text in str(fields.get(name) or "").lower() for name in ("sku", "title"))
    if term.field not in fields:
        return True  # Shopify ignores filters it does not know
    actual = fields[term.field]
    if term.field in ("updated_at", "created_at"):
        wanted = parse_iso(term.value)
        return wanted is not None and term_matches(Term(None, term.op, str(wanted)), actual)
    return term_matches(term, actual)


def _search(
    store: Store,
    table: dict[int, Any],
    query: str | None,
    describe: Callable[[Store, Any], dict[str, Any]],
    sku_to_key: Callable[[int], int],
) -> list[int]:
    groups = parse_search(query)
    keys = store.sorted_keys(table)
    if not groups:
        return keys
    # Fast path: `sku:A OR sku:B` through the SKU index.
    exact = [g[0].value for g in groups if len(g) == 1 and g[0].field == "sku" and g[0].op == ":"]
    if len(exact) == len(groups) and not any(value.endswith("*") for value in exact):
        found = {sku_to_key(v) for value in exact for v in store.sku_index.get(value, [])}
        return sorted(found)
    return [
        key
        for key in keys
        if any(all(_matches(t, describe(store, table[key])) for t in g) for g in groups)
    ]


def _product_variants(_: Any, info: Info, **args: Any) -> dict[str, Any]:
    store = ctx(info).store
    keys = _search(store, store.variants, args.get("query"), _variant_fields, lambda v: v)
    return connection(info, keys, store.variants.__getitem__, args)


def _inventory_items(_: Any, info: Info, **args: Any) -> dict[str, Any]:
    store = ctx(info).store
    keys = _search(
        store,
        store.items,
        args.get("query"),
        _item_fields,
        lambda v: store.variants[v].inventory_item_id,
    )
    return connection(info, keys, store.items.__getitem__, args)


def _by_id(kind: str, table: Callable[[Store], dict[int, Any]]) -> Callable[..., Any]:
    def resolve(_: Any, info: Info, id: str) -> Any:
        number = parse_gid(id, kind)
        return table(ctx(info).store).get(number) if number is not None else None

    return resolve


def _location(_: Any, info: Info, id: str | None = None) -> Any:
    store = ctx(info).store
    if id is None:
        return store.primary_location()
    number = parse_gid(id, "Location")
    return store.locations.get(number) if number is not None else None


def _locations(_: Any, info: Info, **args: Any) -> dict[str, Any]:
    store = ctx(info).store
    keys = [
        key
        for key in store.sorted_keys(store.locations)
        if args.get("includeInactive") or store.locations[key].active
    ]
    return connection(info, keys, store.locations.__getitem__, args)


def _subscriptions(_: Any, info: Info, **args: Any) -> dict[str, Any]:
    store = ctx(info).store
    topics = {topic_name(t) for t in args.get("topics") or []}
    address = args.get("uri") or args.get("callbackUrl")
    keys = [
        key
        for key in sorted(store.subscriptions)
        if (not topics or store.subscriptions[key].topic in topics)
        and (address is None or store.subscriptions[key].address == address)
    ]
    return connection(info, keys, store.subscriptions.__getitem__, args)


def _orders(_: Any, info: Info, **args: Any) -> dict[str, Any]:
    store = ctx(info).store
    return connection(info, store.sorted_keys(store.orders), store.orders.__getitem__, args)


def _product_fields(store: Store, product: Product) -> dict[str, Any]:
    return {
        "title": product.title,
        "id": product.id,
        "handle": product.handle,
        "vendor": product.vendor,
        "product_type": product.product_type,
        "status": product.status,
        "updated_at": product.updated_at,
        "created_at": product.created_at,
    }


def _products(_: Any, info: Info, **args: Any) -> dict[str, Any]:
    store = ctx(info).store
    keys = _search(
        store,
        store.products,
        args.get("query"),
        _product_fields,
        lambda v: store.variants[v].product_id,
    )
    return connection(info, keys, store.products.__getitem__, args)


def _bulk_operations(_: Any, info: Info, **args: Any) -> dict[str, Any]:
    manager = ctx(info).bulk
    keys = sorted(manager.operations)
    return connection(info, keys, manager.operations.__getitem__, args)


def _app_installation(_: Any, info: Info) -> dict[str, Any]:
    scopes = ctx(info).scopes
    return {"accessScopes": [{"handle": scope, "description": None} for scope in scopes]}


QUERY_RESOLVERS: dict[str, Any] = {
    "currentAppInstallation": _app_installation,
    "shop": lambda _, info: ctx(info).store,
    "location": _location,
    "locations": _locations,
    "productVariant": _by_id("ProductVariant", lambda s: s.variants),
    "productVariants": _product_variants,
    "product": _by_id("Product", lambda s: s.products),
    "products": _products,
    "inventoryItem": _by_id("InventoryItem", lambda s: s.items),
    "inventoryItems": _inventory_items,
    "inventoryLevel": lambda _, info, id: node_by_gid(ctx(info).store, info, id),
    "order": _by_id("Order", lambda s: s.orders),
    "orders": _orders,
    "node": lambda _, info, id: node_by_gid(ctx(info).store, info, id),
    "nodes": _nodes,
    "webhookSubscription": _by_id("WebhookSubscription", lambda s: s.subscriptions),
    "webhookSubscriptions": _subscriptions,
    "currentBulkOperation": lambda _, info, type="QUERY": ctx(info).bulk.current(type),
    "bulkOperation": lambda _, info, id: ctx(info).bulk.get(parse_gid(id, "BulkOperation")),
    "bulkOperations": _bulk_operations,
}
