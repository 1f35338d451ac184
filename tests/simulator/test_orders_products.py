"""Point 2: catalogue set-up (productCreate, productVariantsBulkCreate) and orders."""

from __future__ import annotations

from typing import Any

from tests.simulator.harness import Shop

ORDER_CREATE = """
mutation Order($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id name lineItems(first: 5) { nodes { sku quantity } } }
    userErrors { code field message }
  }
}
"""
ORDER_CANCEL = """
mutation Cancel($id: ID!) {
  orderCancel(orderId: $id, reason: CUSTOMER, restock: true, refund: false) {
    job { done } orderCancelUserErrors { code message }
  }
}
"""


def _levels(shop: Shop) -> tuple[str, dict[str, int]]:
    item, location, _ = shop.first_item()
    body = shop.gql(
        "query($i: ID!, $l: ID!) { inventoryItem(id: $i) { variant { id } inventoryLevel("
        'locationId: $l) { quantities(names: ["available", "committed", "on_hand"]) '
        "{ name quantity } } } }",
        {"i": item, "l": location},
    )
    data = body["data"]["inventoryItem"]
    quantities = {q["name"]: q["quantity"] for q in data["inventoryLevel"]["quantities"]}
    return data["variant"]["id"], quantities


def _order(shop: Shop, variant: str, quantity: int, behaviour: str | None) -> dict[str, Any]:
    options = {"inventoryBehaviour": behaviour} if behaviour else None
    body = shop.gql(
        ORDER_CREATE,
        {
            "order": {
                "lineItems": [{"variantId": variant, "quantity": quantity}],
                "email": "buyer@example.com",
            },
            "options": options,
        },
    )
    payload: dict[str, Any] = body["data"]["orderCreate"]
    return payload


def test_order_with_decrement_lowers_available_and_raises_committed(shop: Shop) -> None:
    """An order that decrements inventory moves units from available to committed."""
    variant, before = _levels(shop)

    payload = _order(shop, variant, 2, "DECREMENT_IGNORING_POLICY")

    _, after = _levels(shop)
    assert payload["userErrors"] == []
    assert payload["order"]["lineItems"]["nodes"] == [{"sku": "SKU-000001", "quantity": 2}]
    assert after == {
        "available": before["available"] - 2,
        "committed": 2,
        "on_hand": before["on_hand"],
    }


def test_order_bypass_leaves_inventory_alone(shop: Shop) -> None:
    """Without an inventory behaviour (BYPASS) an order does not touch inventory."""
    variant, before = _levels(shop)

    _order(shop, variant, 1, None)

    assert _levels(shop)[1] == before


def test_order_obeying_policy_refuses_overselling(shop: Shop) -> None:
    """DECREMENT_OBEYING_POLICY refuses an order larger than the stock of a DENY variant."""
    variant, before = _levels(shop)

    payload = _order(shop, variant, before["available"] + 1, "DECREMENT_OBEYING_POLICY")

    assert payload["order"] is None
    assert payload["userErrors"][0]["code"] == "INVENTORY_CLAIM_FAILED"


def test_cancel_with_restock_returns_units(shop: Shop) -> None:
    """Cancelling with restock returns the claimed units to available."""
    variant, before = _levels(shop)
    order = _order(shop, variant, 3, "DECREMENT_OBEYING_POLICY")["order"]

    body = shop.gql(ORDER_CANCEL, {"id": order["id"]})
    again = shop.gql(ORDER_CANCEL, {"id": order["id"]})

    assert body["data"]["orderCancel"] == {"job": {"done": True}, "orderCancelUserErrors": []}
    assert again["data"]["orderCancel"]["orderCancelUserErrors"][0]["code"] == "INVALID"
    assert _levels(shop)[1] == before


def test_product_and_variants_are_created(shop: Shop) -> None:
    """productCreate plus productVariantsBulkCreate makes stocked variants with SKUs."""
    location = shop.first_item()[1]
    product = shop.gql(
        'mutation { productCreate(product: {title: "Blue Mug"}) { product { id handle '
        "variants(first: 5) { nodes { sku } } } userErrors { message } } }"
    )["data"]["productCreate"]["product"]

    body = shop.gql(
        """mutation($p: ID!, $v: [ProductVariantsBulkInput!]!) {
          productVariantsBulkCreate(productId: $p, variants: $v) {
            productVariants { sku price inventoryQuantity }
            product { variants(first: 5) { nodes { sku } } }
            userErrors { code message } } }""",
        {
            "p": product["id"],
            "v": [
                {
                    "inventoryItem": {"sku": "MUG-BLUE"},
                    "price": "12.50",
                    "optionValues": [{"optionName": "Title", "name": "Blue"}],
                    "inventoryQuantities": [{"locationId": location, "availableQuantity": 8}],
                },
            ],
        },
    )

    assert product["handle"] == "blue-mug"
    assert product["variants"]["nodes"] == [{"sku": None}]
    payload = body["data"]["productVariantsBulkCreate"]
    assert payload["userErrors"] == []
    assert payload["productVariants"] == [
        {"sku": "MUG-BLUE", "price": "12.50", "inventoryQuantity": 8}
    ]
    assert payload["product"]["variants"]["nodes"] == [{"sku": "MUG-BLUE"}]


def test_deprecated_argument_is_flagged(shop: Shop) -> None:
    """A deprecated argument (orderCancel's refund) still works and adds the deprecation header."""
    variant, _ = _levels(shop)
    order = _order(shop, variant, 1, None)["order"]

    response = shop.http.post(
        "/admin/api/2026-04/graphql.json",
        json={"query": ORDER_CANCEL, "variables": {"id": order["id"]}},
    )

    assert response.json()["data"]["orderCancel"]["orderCancelUserErrors"] == []
    assert "X-Shopify-API-Deprecated-Reason" in response.headers
