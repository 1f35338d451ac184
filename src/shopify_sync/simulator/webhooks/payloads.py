"""Webhook bodies in Shopify's shapes (the REST resource representation), per topic.

Checked against the payload JSON schemas of Shopify's documented examples (see the tests).
Ids are exact 64-bit integers; times carry the shop's UTC offset with one-second resolution.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from shopify_sync.simulator.events import (
    AvailableChanged,
    BulkOperationFinished,
    Event,
    LevelConnected,
    OrderCancelled,
    OrderCreated,
)
from shopify_sync.simulator.ids import gid, level_gid
from shopify_sync.simulator.model import Level, Order
from shopify_sync.simulator.store import Store
from shopify_sync.simulator.timefmt import iso_shop

CUSTOMER_ID = 115_310_627_314_723_954
ADDRESS_ID = 715_243_470_612_851_245
_ADDRESS = {
    "first_name": "Jane",
    "last_name": "Doe",
    "name": "Jane Doe",
    "address1": "150 Elgin Street",
    "address2": None,
    "city": "Ottawa",
    "province": "Ontario",
    "province_code": "ON",
    "country": "Canada",
    "country_code": "CA",
    "zip": "K2P 1L4",
    "phone": "555-555-0100",
    "company": None,
}


def topic_of(event: Event) -> str:
    """The webhook topic an event fires."""
    if isinstance(event, AvailableChanged):
        return "inventory_levels/update"
    if isinstance(event, LevelConnected):
        return "inventory_levels/connect"
    if isinstance(event, OrderCreated):
        return "orders/create"
    if isinstance(event, OrderCancelled):
        return "orders/cancelled"
    return "bulk_operations/finish"


def body_of(event: Event, store: Store, zone: tzinfo, api_version: str) -> dict[str, Any]:
    """The payload of an event, as serialised for a subscription of `api_version`."""
    if isinstance(event, AvailableChanged):
        return level_json(event.level, event.available, event.at, zone)
    if isinstance(event, LevelConnected):
        return level_json(event.level, event.level.available, event.at, zone)
    if isinstance(event, OrderCreated | OrderCancelled):
        return order_json(store, event.order, zone, api_version)
    assert isinstance(event, BulkOperationFinished)
    return dict(event.payload)


def level_json(level: Level, available: int | None, at: int, zone: tzinfo) -> dict[str, Any]:
    """The REST InventoryLevel (webhook `inventory_levels/update` and REST responses)."""
    return {
        "inventory_item_id": level.item_id,
        "location_id": level.location_id,
        "available": available,
        "updated_at": iso_shop(at, zone),
        "admin_graphql_api_id": level_gid(level.id, level.item_id),
    }


def _money_set(amount: str) -> dict[str, Any]:
    money = {"amount": amount, "currency_code": "USD"}
    return {"shop_money": money, "presentment_money": dict(money)}


def _line_json(order: Order, index: int) -> dict[str, Any]:
    line = order.line_items[index]
    current = 0 if order.cancelled_at is not None else line.quantity
    name = line.title
    if line.variant_title and line.variant_title != "Default Title":
        name = f"{line.title} - {line.variant_title}"
    return {
        "id": line.id,
        "admin_graphql_api_id": gid("LineItem", line.id),
        "attributed_staffs": [],
        "current_quantity": current,
        "fulfillable_quantity": current,
        "fulfillment_service": "manual",
        "fulfillment_status": None,
        "gift_card": False,
        "grams": 0,
        "name": name,
        "price": line.price,
        "price_set": _money_set(line.price),
        "product_exists": line.product_id is not None,
        "product_id": line.product_id,
        "properties": [],
        "quantity": line.quantity,
        "requires_shipping": True,
        "sales_line_item_group_id": None,
        "sku": line.sku or "",
        "taxable": True,
        "title": line.title,
        "total_discount": "0.00",
        "total_discount_set": _money_set("0.00"),
        "variant_id": line.variant_id,
        "variant_inventory_management": "shopify" if line.variant_id else None,
        "variant_title": line.variant_title,
        "vendor": None,
        "tax_lines": [],
        "duties": [],
        "discount_allocations": [],
    }


def _customer(store: Store, order: Order, zone: tzinfo) -> dict[str, Any]:
    email = order.email or "jane@example.com"
    created = iso_shop(store.created_at, zone)
    return {
        "id": CUSTOMER_ID,
        "email": email,
        "created_at": created,
        "updated_at": created,
        "first_name": "Jane",
        "last_name": "Doe",
        "state": "disabled",
        "note": None,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "phone": None,
        "currency": "USD",
        "tags": "",
        "tax_exemptions": [],
        "email_marketing_consent": {
            "state": "not_subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": None,
        },
        "sms_marketing_consent": None,
        "admin_graphql_api_id": gid("Customer", CUSTOMER_ID),
        "default_address": {
            **_ADDRESS,
            "id": ADDRESS_ID,
            "customer_id": CUSTOMER_ID,
            "country_name": "Canada",
            "default": True,
        },
    }


def order_json(
    store: Store, order: Order, zone: tzinfo, api_version: str = "2026-04"
) -> dict[str, Any]:
    """The REST Order (webhooks `orders/create` and `orders/cancelled`).

    `checkout_id` is only part of the payload before 2026-04.
    """
    total = f"{sum(float(line.price) * line.quantity for line in order.line_items):.2f}"
    current_total = "0.00" if order.cancelled_at is not None else total
    created = iso_shop(order.created_at, zone)
    zero = _money_set("0.00")
    email = order.email or "jane@example.com"
    address = {**_ADDRESS, "latitude": None, "longitude": None}
    body = {
        "id": order.id,
        "admin_graphql_api_id": gid("Order", order.id),
        "app_id": None,
        "browser_ip": None,
        "buyer_accepts_marketing": False,
        "cancel_reason": order.cancel_reason,
        "cancelled_at": iso_shop(order.cancelled_at, zone) if order.cancelled_at else None,
        "cart_token": None,
        "checkout_token": None,
        "client_details": None,
        "closed_at": None,
        "company": None,
        "confirmation_number": f"SIM{order.number}",
        "confirmed": True,
        "contact_email": email,
        "created_at": created,
        "currency": "USD",
        "current_shipping_price_set": zero,
        "current_subtotal_price": current_total,
        "current_subtotal_price_set": _money_set(current_total),
        "current_total_additional_fees_set": None,
        "current_total_discounts": "0.00",
        "current_total_discounts_set": zero,
        "current_total_duties_set": None,
        "current_total_price": current_total,
        "current_total_price_set": _money_set(current_total),
        "current_total_tax": "0.00",
        "current_total_tax_set": zero,
        "customer_locale": "en",
        "device_id": None,
        "discount_codes": [],
        "duties_included": False,
        "email": email,
        "estimated_taxes": False,
        "financial_status": order.financial_status,
        "fulfillment_status": None,
        "landing_site": None,
        "landing_site_ref": None,
        "location_id": order.location_id,
        "merchant_business_entity_id": "MTU0ODM4MDAwOQ",
        "merchant_of_record_app_id": None,
        "name": order.name,
        "note": order.note,
        "note_attributes": [],
        "number": order.number - 1000,
        "order_number": order.number,
        "order_status_url": f"https://{store.shop}/548380009/orders/{order.id}/authenticate",
        "original_total_additional_fees_set": None,
        "original_total_duties_set": None,
        "payment_gateway_names": ["manual"],
        "payment_terms": None,
        "phone": None,
        "po_number": None,
        "presentment_currency": "USD",
        "processed_at": created,
        "reference": None,
        "referring_site": None,
        "source_identifier": None,
        "source_name": "web",
        "source_url": None,
        "subtotal_price": total,
        "subtotal_price_set": _money_set(total),
        "tags": "",
        "tax_exempt": False,
        "tax_lines": [],
        "taxes_included": False,
        "test": order.test,
        "token": f"{order.id:x}",
        "total_cash_rounding_payment_adjustment_set": zero,
        "total_cash_rounding_refund_adjustment_set": zero,
        "total_discounts": "0.00",
        "total_discounts_set": zero,
        "total_line_items_price": total,
        "total_line_items_price_set": _money_set(total),
        "total_outstanding": "0.00",
        "total_price": total,
        "total_price_set": _money_set(total),
        "total_shipping_price_set": zero,
        "total_tax": "0.00",
        "total_tax_set": zero,
        "total_tip_received": "0.00",
        "total_weight": 0,
        "updated_at": iso_shop(order.updated_at, zone),
        "user_id": None,
        "billing_address": dict(address),
        "shipping_address": dict(address),
        "customer": _customer(store, order, zone),
        "discount_applications": [],
        "fulfillments": [],
        "line_item_groups": [],
        "line_items": [_line_json(order, index) for index in range(len(order.line_items))],
        "refunds": [],
        "returns": [],
        "shipping_lines": [],
    }
    if api_version < "2026-04":
        body["checkout_id"] = None
    return body
