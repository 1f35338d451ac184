"""Field resolvers of the object types the simulator implements (ProductVariant, InventoryLevel...).

The parent value is a record from `model.py`; plain dicts (payloads, addresses) use
graphql-core's default resolver. Fields not listed here resolve to null, which the schema
turns into an error where it forbids null: the simulator does not invent data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from graphql import GraphQLError, GraphQLResolveInfo

from shopify_sync.simulator.gql.connection import connection, encode_cursor
from shopify_sync.simulator.gql.context import RequestContext
from shopify_sync.simulator.ids import gid, level_gid, parse_gid
from shopify_sync.simulator.model import (
    QUANTITY_NAMES,
    AdjustmentGroup,
    Change,
    InventoryItem,
    Level,
    LineItem,
    Location,
    Order,
    Product,
    Subscription,
    Variant,
)
from shopify_sync.simulator.store import Store
from shopify_sync.simulator.timefmt import iso_utc

Info = GraphQLResolveInfo

PLAN_NAMES = {
    "standard": "Basic",
    "advanced": "Advanced",
    "plus": "Shopify Plus",
    "enterprise": "Commerce Components",
}


def ctx(info: Info) -> RequestContext:
    return cast(RequestContext, info.context)


def money(amount: str) -> dict[str, Any]:
    value = {"amount": amount, "currencyCode": "USD"}
    return {"shopMoney": value, "presentmentMoney": value}


def _level_of(info: Info, item: InventoryItem, location_gid: str, include_inactive: bool) -> Any:
    location_id = parse_gid(location_gid, "Location")
    level = item.levels.get(location_id) if location_id is not None else None
    if level is None or not (level.active or include_inactive):
        return None
    return level


def _variant_quantity(store: Store, variant: Variant) -> int:
    item = store.items[variant.inventory_item_id]
    return sum(level.available for level in item.levels.values() if level.active)


def _quantities(level: Level, info: Info, names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        quantity = level.quantity(name)
        if quantity is None:
            raise GraphQLError(
                f"'{name}' is not a valid inventory quantity name. "
                f"Valid values: {', '.join(QUANTITY_NAMES)}."
            )
        rows.append(
            {
                "id": f"gid://shopify/InventoryQuantity/{level.id}?inventory_item_id="
                f"{level.item_id}&name={name}",
                "name": name,
                "quantity": quantity,
                "updatedAt": iso_utc(level.updated_at),
            }
        )
    return rows


def _item_levels(item: InventoryItem, info: Info, **args: Any) -> dict[str, Any]:
    store = ctx(info).store
    include = bool(args.get("includeInactive"))
    keys = [k for k in store.sorted_keys(item.levels) if include or item.levels[k].active]
    return connection(info, keys, item.levels.__getitem__, args)


def _location_levels(location: Location, info: Info, **args: Any) -> dict[str, Any]:
    # Levels are never deactivated here (no inventoryDeactivate), so none is filtered out.
    store = ctx(info).store
    return connection(info, store.sorted_keys(location.levels), location.levels.__getitem__, args)


def _address(location: Location) -> dict[str, Any]:
    return {
        "address1": location.address1,
        "address2": None,
        "city": location.city,
        "province": location.province,
        "provinceCode": location.province_code,
        "country": "Canada" if location.country_code == "CA" else location.country_code,
        "countryCode": location.country_code,
        "zip": location.zip,
        "phone": None,
        "latitude": None,
        "longitude": None,
        "formatted": [
            location.address1,
            f"{location.city} {location.province_code} {location.zip}",
        ],
    }


def _changes(group: AdjustmentGroup, info: Info, **args: Any) -> list[Change]:
    items = {parse_gid(i, "InventoryItem") for i in args.get("inventoryItemIds") or []}
    locations = {parse_gid(i, "Location") for i in args.get("locationIds") or []}
    names = set(args.get("quantityNames") or [])
    return [
        change
        for change in group.changes
        if (not items or change.item_id in items)
        and (not locations or change.location_id in locations)
        and (not names or change.name in names)
    ]


def _shop_offset(info: Info) -> tuple[str, int]:
    store = ctx(info).store
    offset = datetime.fromtimestamp(store.now(), ctx(info).zone).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}", minutes


def _order_total(order: Order) -> str:
    total = sum(float(line.price) * line.quantity for line in order.line_items)
    return f"{total:.2f}"


def _line_current(line: LineItem, order: Order) -> int:
    return 0 if order.cancelled_at is not None else line.quantity


OBJECT_RESOLVERS: dict[str, dict[str, Any]] = {
    "Shop": {
        "id": lambda s, i: gid("Shop", 548_380_009),
        "name": lambda s, i: s.shop.split(".")[0].replace("-", " ").title(),
        "myshopifyDomain": lambda s, i: s.shop,
        "email": lambda s, i: f"owner@{s.shop}",
        "contactEmail": lambda s, i: f"owner@{s.shop}",
        "currencyCode": lambda s, i: "USD",
        "enabledPresentmentCurrencies": lambda s, i: ["USD"],
        "ianaTimezone": lambda s, i: str(ctx(i).zone),
        "timezoneAbbreviation": lambda s, i: datetime.fromtimestamp(s.now(), ctx(i).zone).tzname(),
        "timezoneOffset": lambda s, i: _shop_offset(i)[0],
        "timezoneOffsetMinutes": lambda s, i: _shop_offset(i)[1],
        "plan": lambda s, i: {
            "displayName": PLAN_NAMES[ctx(i).plan],
            "publicDisplayName": PLAN_NAMES[ctx(i).plan],
            "partnerDevelopment": False,
            "shopifyPlus": ctx(i).plan in ("plus", "enterprise"),
        },
        "url": lambda s, i: f"https://{s.shop}",
        "primaryDomain": lambda s, i: {
            "id": gid("Domain", 1),
            "host": s.shop,
            "url": f"https://{s.shop}",
            "sslEnabled": True,
        },
        "createdAt": lambda s, i: iso_utc(s.created_at),
        "updatedAt": lambda s, i: iso_utc(s.created_at),
        "weightUnit": lambda s, i: "KILOGRAMS",
        "unitSystem": lambda s, i: "METRIC_SYSTEM",
        "taxesIncluded": lambda s, i: False,
        "taxShipping": lambda s, i: False,
        "setupRequired": lambda s, i: False,
        "checkoutApiSupported": lambda s, i: True,
        "transactionalSmsDisabled": lambda s, i: True,
    },
    "Location": {
        "id": lambda o, i: gid("Location", o.id),
        "legacyResourceId": lambda o, i: str(o.id),
        "name": lambda o, i: o.name,
        "isActive": lambda o, i: o.active,
        "isPrimary": lambda o, i: ctx(i).store.primary_location() is o,
        "fulfillsOnlineOrders": lambda o, i: True,
        "shipsInventory": lambda o, i: True,
        "isFulfillmentService": lambda o, i: False,
        "hasActiveInventory": lambda o, i: bool(o.levels),
        "hasUnfulfilledOrders": lambda o, i: False,
        "activatable": lambda o, i: not o.active,
        "deactivatable": lambda o, i: o.active,
        "deletable": lambda o, i: False,
        "addressVerified": lambda o, i: True,
        "deactivatedAt": lambda o, i: None,
        "createdAt": lambda o, i: iso_utc(o.created_at),
        "updatedAt": lambda o, i: iso_utc(o.updated_at),
        "address": lambda o, i: _address(o),
        "suggestedAddresses": lambda o, i: [],
        "inventoryLevel": lambda o, i, inventoryItemId, includeInactive=False: _location_level(
            o, inventoryItemId, includeInactive
        ),
        "inventoryLevels": _location_levels,
    },
    "ProductVariant": {
        "id": lambda v, i: gid("ProductVariant", v.id),
        "legacyResourceId": lambda v, i: str(v.id),
        "sku": lambda v, i: v.sku,
        "title": lambda v, i: v.title,
        "displayName": lambda v, i: f"{ctx(i).store.products[v.product_id].title} - {v.title}",
        "price": lambda v, i: v.price,
        "compareAtPrice": lambda v, i: None,
        "barcode": lambda v, i: v.barcode,
        "position": lambda v, i: v.position,
        "inventoryPolicy": lambda v, i: v.inventory_policy,
        "inventoryQuantity": lambda v, i: _variant_quantity(ctx(i).store, v),
        "sellableOnlineQuantity": lambda v, i: max(0, _variant_quantity(ctx(i).store, v)),
        "availableForSale": lambda v, i: (
            v.inventory_policy == "CONTINUE" or _variant_quantity(ctx(i).store, v) > 0
        ),
        "inventoryItem": lambda v, i: ctx(i).store.items[v.inventory_item_id],
        "product": lambda v, i: ctx(i).store.products[v.product_id],
        "taxable": lambda v, i: True,
        "requiresComponents": lambda v, i: False,
        "showUnitPrice": lambda v, i: False,
        "selectedOptions": lambda v, i: [{"name": "Title", "value": v.title}],
        "defaultCursor": lambda v, i: encode_cursor(v.id),
        "createdAt": lambda v, i: iso_utc(v.created_at),
        "updatedAt": lambda v, i: iso_utc(v.updated_at),
    },
    "Product": {
        "id": lambda p, i: gid("Product", p.id),
        "legacyResourceId": lambda p, i: str(p.id),
        "title": lambda p, i: p.title,
        "handle": lambda p, i: p.handle,
        "vendor": lambda p, i: p.vendor,
        "productType": lambda p, i: p.product_type,
        "status": lambda p, i: p.status,
        "description": lambda p, i: "",
        "descriptionHtml": lambda p, i: "",
        "tags": lambda p, i: [],
        "totalInventory": lambda p, i: sum(
            _variant_quantity(ctx(i).store, ctx(i).store.variants[v]) for v in p.variant_ids
        ),
        "tracksInventory": lambda p, i: True,
        "hasOnlyDefaultVariant": lambda p, i: len(p.variant_ids) == 1,
        "isGiftCard": lambda p, i: False,
        "createdAt": lambda p, i: iso_utc(p.created_at),
        "updatedAt": lambda p, i: iso_utc(p.updated_at),
        "variants": lambda p, i, **a: connection(
            i, sorted(p.variant_ids), ctx(i).store.variants.__getitem__, a
        ),
        "variantsCount": lambda p, i: {"count": len(p.variant_ids), "precision": "EXACT"},
    },
    "InventoryItem": {
        "id": lambda t, i: gid("InventoryItem", t.id),
        "legacyResourceId": lambda t, i: str(t.id),
        "sku": lambda t, i: t.sku,
        "tracked": lambda t, i: t.tracked,
        "requiresShipping": lambda t, i: True,
        "duplicateSkuCount": lambda t, i: max(
            0, len(ctx(i).store.sku_index.get(t.sku or "", [])) - 1
        ),
        "createdAt": lambda t, i: iso_utc(t.created_at),
        "updatedAt": lambda t, i: iso_utc(t.updated_at),
        "trackedEditable": lambda t, i: {"locked": False, "reason": None},
        "locationsCount": lambda t, i: {"count": len(t.levels), "precision": "EXACT"},
        "inventoryHistoryUrl": lambda t, i: (
            f"https://admin.shopify.com/store/{ctx(i).store.shop.split('.')[0]}/products/inventory/"
            f"{t.id}/inventory_history"
        ),
        "variant": lambda t, i: ctx(i).store.variants[t.variant_id],
        "inventoryLevel": lambda t, i, locationId, includeInactive=False: _level_of(
            i, t, locationId, includeInactive
        ),
        "inventoryLevels": _item_levels,
    },
    "InventoryLevel": {
        "id": lambda lv, i: level_gid(lv.id, lv.item_id),
        "isActive": lambda lv, i: lv.active,
        "canDeactivate": lambda lv, i: True,
        "deactivationAlert": lambda lv, i: None,
        "createdAt": lambda lv, i: iso_utc(lv.created_at),
        "updatedAt": lambda lv, i: iso_utc(lv.updated_at),
        "item": lambda lv, i: ctx(i).store.items[lv.item_id],
        "location": lambda lv, i: ctx(i).store.locations[lv.location_id],
        "quantities": lambda lv, i, names: _quantities(lv, i, names),
    },
    "InventoryAdjustmentGroup": {
        "id": lambda g, i: gid("InventoryAdjustmentGroup", g.id),
        "createdAt": lambda g, i: iso_utc(g.created_at),
        "reason": lambda g, i: g.reason,
        "referenceDocumentUri": lambda g, i: g.reference_document_uri,
        "app": lambda g, i: None,
        "staffMember": lambda g, i: None,
        "changes": _changes,
    },
    "InventoryChange": {
        "name": lambda c, i: c.name,
        "delta": lambda c, i: c.delta,
        "quantityAfterChange": lambda c, i: c.quantity_after,
        "ledgerDocumentUri": lambda c, i: c.ledger_document_uri,
        "item": lambda c, i: ctx(i).store.items.get(c.item_id),
        "location": lambda c, i: ctx(i).store.locations.get(c.location_id),
    },
    "Order": {
        "id": lambda o, i: gid("Order", o.id),
        "legacyResourceId": lambda o, i: str(o.id),
        "name": lambda o, i: o.name,
        "email": lambda o, i: o.email,
        "test": lambda o, i: o.test,
        "note": lambda o, i: o.note,
        "closed": lambda o, i: False,
        "confirmed": lambda o, i: True,
        "cancelledAt": lambda o, i: iso_utc(o.cancelled_at) if o.cancelled_at else None,
        "cancelReason": lambda o, i: o.cancel_reason.upper() if o.cancel_reason else None,
        "createdAt": lambda o, i: iso_utc(o.created_at),
        "processedAt": lambda o, i: iso_utc(o.created_at),
        "updatedAt": lambda o, i: iso_utc(o.updated_at),
        "currencyCode": lambda o, i: "USD",
        "displayFinancialStatus": lambda o, i: o.financial_status.upper(),
        "displayFulfillmentStatus": lambda o, i: "UNFULFILLED",
        "totalPriceSet": lambda o, i: money(_order_total(o)),
        "currentTotalPriceSet": lambda o, i: money("0.00" if o.cancelled_at else _order_total(o)),
        "subtotalPriceSet": lambda o, i: money(_order_total(o)),
        "lineItems": lambda o, i, **a: connection(
            i, list(range(len(o.line_items))), lambda k: (o, o.line_items[k]), a
        ),
    },
    "LineItem": {
        "id": lambda p, i: gid("LineItem", p[1].id),
        "name": lambda p, i: (
            p[1].title
            if not p[1].variant_title or p[1].variant_title == "Default Title"
            else f"{p[1].title} - {p[1].variant_title}"
        ),
        "title": lambda p, i: p[1].title,
        "variantTitle": lambda p, i: p[1].variant_title,
        "sku": lambda p, i: p[1].sku,
        "quantity": lambda p, i: p[1].quantity,
        "currentQuantity": lambda p, i: _line_current(p[1], p[0]),
        "fulfillableQuantity": lambda p, i: _line_current(p[1], p[0]),
        "unfulfilledQuantity": lambda p, i: _line_current(p[1], p[0]),
        "requiresShipping": lambda p, i: True,
        "taxable": lambda p, i: True,
        "isGiftCard": lambda p, i: False,
        "restockable": lambda p, i: not p[1].restocked,
        "originalUnitPriceSet": lambda p, i: money(p[1].price),
        "variant": lambda p, i: (
            ctx(i).store.variants.get(p[1].variant_id) if p[1].variant_id else None
        ),
        "product": lambda p, i: (
            ctx(i).store.products.get(p[1].product_id) if p[1].product_id else None
        ),
    },
    "WebhookSubscription": {
        "id": lambda s, i: gid("WebhookSubscription", s.id),
        "legacyResourceId": lambda s, i: str(s.id),
        "topic": lambda s, i: topic_enum(s.topic),
        "format": lambda s, i: s.format.upper(),
        "includeFields": lambda s, i: s.include_fields,
        "metafieldNamespaces": lambda s, i: s.metafield_namespaces,
        "metafields": lambda s, i: [],
        "filter": lambda s, i: s.filter,
        "name": lambda s, i: s.name,
        "uri": lambda s, i: s.address,
        "callbackUrl": lambda s, i: s.address,
        "endpoint": lambda s, i: {"__typename": "WebhookHttpEndpoint", "callbackUrl": s.address},
        "apiVersion": lambda s, i: {
            "handle": s.api_version,
            "displayName": s.api_version,
            "supported": True,
        },
        "createdAt": lambda s, i: iso_utc(s.created_at),
        "updatedAt": lambda s, i: iso_utc(s.updated_at),
    },
}

TOPIC_NAMES = {
    "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
    "INVENTORY_LEVELS_CONNECT": "inventory_levels/connect",
    "INVENTORY_LEVELS_DISCONNECT": "inventory_levels/disconnect",
    "INVENTORY_ITEMS_UPDATE": "inventory_items/update",
    "ORDERS_CREATE": "orders/create",
    "ORDERS_CANCELLED": "orders/cancelled",
    "BULK_OPERATIONS_FINISH": "bulk_operations/finish",
}


def topic_name(enum_value: str) -> str:
    """GraphQL topic enum -> REST topic (`ORDERS_CREATE` -> `orders/create`)."""
    known = TOPIC_NAMES.get(enum_value)
    if known is not None:
        return known
    head, _, tail = enum_value.lower().rpartition("_")
    return f"{head}/{tail}" if head else tail


def topic_enum(name: str) -> str:
    """REST topic -> GraphQL topic enum (`orders/create` -> `ORDERS_CREATE`)."""
    return name.replace("/", "_").upper()


def _location_level(location: Location, item_gid: str, include_inactive: bool) -> Level | None:
    item_id = parse_gid(item_gid, "InventoryItem")
    level = location.levels.get(item_id) if item_id is not None else None
    if level is None or not (level.active or include_inactive):
        return None
    return level


TYPENAMES: dict[type, str] = {
    Variant: "ProductVariant",
    InventoryItem: "InventoryItem",
    Level: "InventoryLevel",
    Location: "Location",
    Product: "Product",
    Order: "Order",
    Subscription: "WebhookSubscription",
    AdjustmentGroup: "InventoryAdjustmentGroup",
    Store: "Shop",
}


def resolve_type(value: Any, info: Info, abstract_type: Any) -> str | None:
    """Type resolver for interfaces and unions (`Node`, `WebhookSubscriptionEndpoint`)."""
    name = TYPENAMES.get(type(value))
    if name is not None:
        return name
    if isinstance(value, dict):
        typename = value.get("__typename")
        return typename if isinstance(typename, str) else None
    return None
