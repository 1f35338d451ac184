"""Adapter: answers about the store's catalogue mapped to domain values.

Variants (search and variant -> inventory item), locations, webhook subscriptions and the
app's access scopes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import orjson
from pydantic import Field, JsonValue

from shopify_sync.adapters.shopify.envelope import (
    FIRST_MATCH,
    MalformedResponse,
    Model,
    PageInfo,
    UserError,
    gid_number,
    next_cursor,
    parse_data,
)
from shopify_sync.adapters.shopify.topics import topic_rest
from shopify_sync.domain.model import Location, Variant, WebhookSubscription
from shopify_sync.types import InventoryItemId, LocationId, VariantId


class _Id(Model):
    id: str


class _VariantNode(Model):
    id: str
    inventory_item: _Id


class _VariantsData(Model):
    nodes: list[Annotated[_VariantNode | dict[str, JsonValue] | None, FIRST_MATCH]]


def inventory_items_of(data: Mapping[str, JsonValue] | None) -> dict[VariantId, InventoryItemId]:
    """Map a ``ResolveInventoryItems`` answer; unknown variants (null/empty nodes) are left out."""
    result: dict[VariantId, InventoryItemId] = {}
    for node in parse_data(_VariantsData, data).nodes:
        if isinstance(node, _VariantNode):
            variant = VariantId(gid_number("ProductVariant", node.id))
            result[variant] = InventoryItemId(gid_number("InventoryItem", node.inventory_item.id))
    return result


class _Title(Model):
    title: str


class _TrackedItem(Model):
    id: str
    tracked: bool = True


class _FoundVariant(Model):
    id: str
    title: str = ""
    sku: str | None = None
    product: _Title
    inventory_item: _TrackedItem


class _VariantPage(Model):
    nodes: list[_FoundVariant]
    page_info: PageInfo


class _FindData(Model):
    product_variants: _VariantPage


_DEFAULT_VARIANT_TITLE = "Default Title"
"""Shopify's title for the only variant of a product without options."""


class _ProductVariants(Model):
    nodes: list[_FoundVariant]


class _FoundProduct(Model):
    variants: _ProductVariants


class _FoundProducts(Model):
    nodes: list[_FoundProduct]


class _FindProductsData(Model):
    products: _FoundProducts


def _variant(node: _FoundVariant) -> Variant:
    title = node.product.title
    if node.title and node.title != _DEFAULT_VARIANT_TITLE:
        title = f"{title} - {node.title}"
    return Variant(
        id=VariantId(gid_number("ProductVariant", node.id)),
        inventory_item_id=InventoryItemId(gid_number("InventoryItem", node.inventory_item.id)),
        sku=node.sku or None,
        title=title,
        tracked=node.inventory_item.tracked,
    )


def variant_page(data: Mapping[str, JsonValue] | None) -> tuple[list[Variant], str | None]:
    """Map one ``FindVariants`` page; returns the variants and the next cursor (None at the end)."""
    page = parse_data(_FindData, data).product_variants
    return [_variant(node) for node in page.nodes], next_cursor(page.page_info)


def variant_row(line: str) -> Variant:
    """One JSONL line of the variants bulk operation.

    Read with orjson and plain key access rather than a model: a 100,000-variant catalogue is
    100,000 lines, and this is what auto-linking spends most of its own time on.

    Raises:
        MalformedResponse: the line is not a variant row.
    """
    try:
        row = orjson.loads(line)
        item = row["inventoryItem"]
        sku, title, tracked = row.get("sku"), row.get("title") or "", item.get("tracked", True)
        product_title = row["product"]["title"]
        if not (
            isinstance(sku, str | None)
            and isinstance(title, str)
            and isinstance(product_title, str)
            and isinstance(tracked, bool)
        ):
            raise TypeError("unexpected field types")
        variant_id, item_id = row["id"], item["id"]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise MalformedResponse(f"unexpected bulk row: {exc}") from exc
    if title and title != _DEFAULT_VARIANT_TITLE:
        product_title = f"{product_title} - {title}"
    return Variant(
        id=VariantId(gid_number("ProductVariant", str(variant_id))),
        inventory_item_id=InventoryItemId(gid_number("InventoryItem", str(item_id))),
        sku=sku or None,
        title=product_title,
        tracked=tracked,
    )


def product_variants(data: Mapping[str, JsonValue] | None) -> list[Variant]:
    """Map a ``FindProductVariants`` answer: the variants of each product found, in order."""
    products = parse_data(_FindProductsData, data).products
    return [_variant(node) for product in products.nodes for node in product.variants.nodes]


class _LocationNode(Model):
    id: str
    name: str
    is_active: bool = True
    fulfills_online_orders: bool = True


class _LocationPage(Model):
    nodes: list[_LocationNode]
    page_info: PageInfo


class _LocationsData(Model):
    locations: _LocationPage


def location_page(data: Mapping[str, JsonValue] | None) -> tuple[list[Location], str | None]:
    """Map one ``Locations`` page; returns the locations and the next cursor."""
    page = parse_data(_LocationsData, data).locations
    return [_location(node) for node in page.nodes], next_cursor(page.page_info)


def _location(node: _LocationNode) -> Location:
    return Location(
        id=LocationId(gid_number("Location", node.id)),
        name=node.name,
        active=node.is_active,
        fulfills_online_orders=node.fulfills_online_orders,
    )


class _LocationData(Model):
    location: _LocationNode | None


def location_of(data: Mapping[str, JsonValue] | None) -> Location | None:
    """Map a ``Location`` answer; None when the store has no location with that id."""
    node = parse_data(_LocationData, data).location
    return None if node is None else _location(node)


class _Scope(Model):
    handle: str


class _Installation(Model):
    access_scopes: list[_Scope]


class _AppAccessData(Model):
    current_app_installation: _Installation


def access_scopes(data: Mapping[str, JsonValue] | None) -> tuple[str, ...]:
    """The handles of the scopes granted to our app."""
    installation = parse_data(_AppAccessData, data).current_app_installation
    return tuple(scope.handle for scope in installation.access_scopes)


class _WebhookNode(Model):
    id: str
    topic: str
    uri: str | None = None
    callback_url: str | None = None

    def to_domain(self) -> WebhookSubscription:
        return WebhookSubscription(
            id=self.id, topic=topic_rest(self.topic), uri=self.uri or self.callback_url or ""
        )


class _WebhookPage(Model):
    nodes: list[_WebhookNode]
    page_info: PageInfo


class _WebhooksData(Model):
    webhook_subscriptions: _WebhookPage


def webhook_page(
    data: Mapping[str, JsonValue] | None,
) -> tuple[list[WebhookSubscription], str | None]:
    """Map one ``WebhookSubscriptions`` page; returns the subscriptions and the next cursor."""
    page = parse_data(_WebhooksData, data).webhook_subscriptions
    return [node.to_domain() for node in page.nodes], next_cursor(page.page_info)


class _CreatePayload(Model):
    webhook_subscription: _WebhookNode | None = None
    user_errors: list[UserError] = Field(default_factory=list)


class _CreateData(Model):
    webhook_subscription_create: _CreatePayload


def created_webhook(
    data: Mapping[str, JsonValue] | None,
) -> WebhookSubscription | list[UserError]:
    """The new subscription, or Shopify's reasons for refusing it."""
    payload = parse_data(_CreateData, data).webhook_subscription_create
    if payload.user_errors or payload.webhook_subscription is None:
        return payload.user_errors or [UserError(message="no subscription returned")]
    return payload.webhook_subscription.to_domain()


class _DeletePayload(Model):
    deleted_webhook_subscription_id: str | None = None
    user_errors: list[UserError] = Field(default_factory=list)


class _DeleteData(Model):
    webhook_subscription_delete: _DeletePayload


def delete_errors(data: Mapping[str, JsonValue] | None) -> list[UserError]:
    """Shopify's reasons for refusing a deletion (empty on success)."""
    return parse_data(_DeleteData, data).webhook_subscription_delete.user_errors
