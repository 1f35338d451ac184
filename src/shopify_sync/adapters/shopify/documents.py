"""Adapter: every GraphQL document the Shopify client sends, built for one API version.

Each builder returns an :class:`Operation`: the query text, its variables, and a cost
estimate for the pacer. Variables are built in a fixed order and serialised compactly, so
one logical request always yields the same bytes (a write whose outcome is unknown is
resent byte for byte, with the same idempotency key).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from shopify_sync.adapters.shopify.gid import to_gid
from shopify_sync.adapters.shopify.topics import topic_enum
from shopify_sync.adapters.shopify.version import ApiFeatures
from shopify_sync.domain.model import QuantityWrite, SetQuantities
from shopify_sync.types import InventoryItemId, LocationId, VariantId

Json: TypeAlias = "bool | int | float | str | list[Json] | dict[str, Json] | None"

MAX_IDS_PER_CALL = 250
"""Shopify accepts at most 250 elements in any array argument and ``first`` up to 250."""
MUTATION_COST = 10
OBJECT_COST = 1
CONNECTION_COST = 2


@dataclass(frozen=True, slots=True)
class Operation:
    """One GraphQL request: its text, variables and the points we expect it to cost."""

    name: str
    query: str
    variables: dict[str, Json]
    estimated_cost: int
    is_write: bool = False

    def body(self) -> bytes:
        """The exact request body: compact JSON in insertion order, UTF-8."""
        payload: dict[str, Json] = {
            "query": self.query,
            "variables": self.variables,
            "operationName": self.name,
        }
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


_READ_LEVELS = """query ReadLevels($ids: [ID!]!, $location: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      tracked
      inventoryLevel(locationId: $location) {
        updatedAt
        quantities(names: ["available"]) { name quantity updatedAt }
      }
    }
  }
}"""


def read_levels(items: Sequence[InventoryItemId], location: LocationId) -> Operation:
    """``available`` of up to 250 inventory items at *location*."""
    _check_batch(len(items))
    ids: list[Json] = [to_gid("InventoryItem", item) for item in items]
    return Operation(
        name="ReadLevels",
        query=_READ_LEVELS,
        variables={"ids": ids, "location": to_gid("Location", location)},
        estimated_cost=OBJECT_COST + 3 * OBJECT_COST * len(items),
    )


_RESOLVE = """query ResolveInventoryItems($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on ProductVariant { id inventoryItem { id } }
  }
}"""


def resolve_inventory_items(variants: Sequence[VariantId]) -> Operation:
    """The inventory item of up to 250 variants."""
    _check_batch(len(variants))
    ids: list[Json] = [to_gid("ProductVariant", variant) for variant in variants]
    return Operation(
        name="ResolveInventoryItems",
        query=_RESOLVE,
        variables={"ids": ids},
        estimated_cost=OBJECT_COST + 2 * OBJECT_COST * len(variants),
    )


_FIND_VARIANTS = """query FindVariants($first: Int!, $after: String, $query: String) {
  productVariants(first: $first, after: $after, query: $query) {
    nodes { id title sku product { title } inventoryItem { id tracked } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def find_variants(query: str, first: int, after: str | None) -> Operation:
    """One page of variants matching Shopify's search *query*."""
    _check_batch(first)
    return Operation(
        name="FindVariants",
        query=_FIND_VARIANTS,
        variables={"first": first, "after": after, "query": query},
        estimated_cost=CONNECTION_COST + 3 * OBJECT_COST * first,
    )


_FIND_PRODUCT_VARIANTS = """query FindProductVariants(
  $first: Int!, $variants: Int!, $query: String
) {
  products(first: $first, query: $query) {
    nodes {
      variants(first: $variants) {
        nodes { id title sku product { title } inventoryItem { id tracked } }
      }
    }
  }
}"""
PRODUCT_VARIANTS_PER_PRODUCT = 20
"""Variants read per product found by a title search (beyond that, search by SKU)."""
PRODUCTS_PER_TITLE_SEARCH = 10
"""Products one title search reads: 10 x 20 variants stays under the 1,000-point query cap."""


def find_product_variants(query: str, first: int) -> Operation:
    """The variants of the first *first* products matching Shopify's product search *query*."""
    if not 1 <= first <= PRODUCTS_PER_TITLE_SEARCH:
        raise ValueError(f"a title search reads 1 to {PRODUCTS_PER_TITLE_SEARCH} products")
    return Operation(
        name="FindProductVariants",
        query=_FIND_PRODUCT_VARIANTS,
        variables={"first": first, "variants": PRODUCT_VARIANTS_PER_PRODUCT, "query": query},
        estimated_cost=CONNECTION_COST
        + first * (OBJECT_COST + CONNECTION_COST + 3 * OBJECT_COST * PRODUCT_VARIANTS_PER_PRODUCT),
    )


_LOCATION = """query Location($id: ID!) {
  location(id: $id) { id name isActive fulfillsOnlineOrders }
}"""


def location(location_id: LocationId) -> Operation:
    """One location by id (null when the store has none with that id)."""
    return Operation(
        name="Location",
        query=_LOCATION,
        variables={"id": to_gid("Location", location_id)},
        estimated_cost=OBJECT_COST,
    )


_APP_ACCESS = """query AppAccess {
  currentAppInstallation { accessScopes { handle } }
}"""


def app_access() -> Operation:
    """The access scopes granted to our app on this store."""
    return Operation(name="AppAccess", query=_APP_ACCESS, variables={}, estimated_cost=OBJECT_COST)


_LOCATIONS = """query Locations($first: Int!, $after: String) {
  locations(first: $first, after: $after, includeInactive: true) {
    nodes { id name isActive fulfillsOnlineOrders }
    pageInfo { hasNextPage endCursor }
  }
}"""


def locations(first: int, after: str | None) -> Operation:
    """One page of the store's locations, inactive ones included."""
    _check_batch(first)
    return Operation(
        name="Locations",
        query=_LOCATIONS,
        variables={"first": first, "after": after},
        estimated_cost=CONNECTION_COST + OBJECT_COST * first,
    )


def _webhook_address_field(features: ApiFeatures) -> str:
    return "uri" if features.webhook_uri else "callbackUrl"


def webhook_subscriptions(features: ApiFeatures, first: int, after: str | None) -> Operation:
    """One page of our app's webhook subscriptions."""
    _check_batch(first)
    address = _webhook_address_field(features)
    query = f"""query WebhookSubscriptions($first: Int!, $after: String) {{
  webhookSubscriptions(first: $first, after: $after) {{
    nodes {{ id topic {address} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""
    return Operation(
        name="WebhookSubscriptions",
        query=query,
        variables={"first": first, "after": after},
        estimated_cost=CONNECTION_COST + OBJECT_COST * first,
    )


def create_webhook_subscription(features: ApiFeatures, topic: str, uri: str) -> Operation:
    """Subscribe *uri* to *topic* (REST form) with JSON payloads."""
    address = _webhook_address_field(features)
    query = f"""mutation CreateWebhookSubscription(
  $topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!
) {{
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {{
    webhookSubscription {{ id topic {address} }}
    userErrors {{ field message }}
  }}
}}"""
    return Operation(
        name="CreateWebhookSubscription",
        query=query,
        variables={"topic": topic_enum(topic), "subscription": {address: uri, "format": "JSON"}},
        estimated_cost=MUTATION_COST,
        is_write=True,
    )


_DELETE_WEBHOOK = """mutation DeleteWebhookSubscription($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}"""


def delete_webhook_subscription(subscription_id: str) -> Operation:
    """Remove one webhook subscription."""
    return Operation(
        name="DeleteWebhookSubscription",
        query=_DELETE_WEBHOOK,
        variables={"id": subscription_id},
        estimated_cost=MUTATION_COST,
        is_write=True,
    )


_SET_SELECTION = """{
    inventoryAdjustmentGroup { id createdAt }
    userErrors { code field message }
  }
}"""
_SET_IDEMPOTENT = (
    "mutation SetAvailable($input: InventorySetQuantitiesInput!, $key: String!) {\n"
    "  inventorySetQuantities(input: $input) @idempotent(key: $key) " + _SET_SELECTION
)
_SET_PLAIN = (
    "mutation SetAvailable($input: InventorySetQuantitiesInput!) {\n"
    "  inventorySetQuantities(input: $input) " + _SET_SELECTION
)


def canonical_entries(write: SetQuantities) -> tuple[QuantityWrite, ...]:
    """The entries in the order they are sent (by item id), so userError indexes map back."""
    return tuple(sorted(write.entries, key=lambda entry: entry.inventory_item_id))


def set_quantities(features: ApiFeatures, write: SetQuantities, location: LocationId) -> Operation:
    """
    Compare-and-set ``available`` for every entry of *write* at *location*.

    From 2026-01 each entry carries ``changeFromQuantity`` and the field carries
    ``@idempotent(key:)`` with the write's key; before, ``compareQuantity`` and no key
    (the directive does not exist in those schemas).
    """
    entries = canonical_entries(write)
    _check_batch(len(entries))
    cas_field = "changeFromQuantity" if features.change_from_quantity else "compareQuantity"
    location_gid = to_gid("Location", location)
    quantities: list[Json] = [
        {
            "inventoryItemId": to_gid("InventoryItem", entry.inventory_item_id),
            "locationId": location_gid,
            "quantity": entry.quantity,
            cas_field: entry.expected,
        }
        for entry in entries
    ]
    variables: dict[str, Json] = {
        "input": {
            "name": "available",
            "reason": write.reason,
            "referenceDocumentUri": write.reference_document_uri,
            "quantities": quantities,
        }
    }
    if features.idempotent_directive:
        variables["key"] = write.idempotency_key
    return Operation(
        name="SetAvailable",
        query=_SET_IDEMPOTENT if features.idempotent_directive else _SET_PLAIN,
        variables=variables,
        estimated_cost=MUTATION_COST,
        is_write=True,
    )


def snapshot_query(location: LocationId) -> str:
    """The bulk query: every inventory item with its level at *location* (one JSONL row each)."""
    location_gid = to_gid("Location", location)
    return f"""{{
  inventoryItems {{
    edges {{
      node {{
        id
        tracked
        inventoryLevel(locationId: "{location_gid}") {{
          updatedAt
          quantities(names: ["available"]) {{ name quantity updatedAt }}
        }}
      }}
    }}
  }}
}}"""


VARIANTS_BULK_QUERY = """{
  productVariants {
    edges {
      node {
        id
        sku
        title
        product { title }
        inventoryItem { id tracked }
      }
    }
  }
}"""
"""The bulk query: every variant of the store with what linking needs (one JSONL row each)."""


def run_bulk_query(features: ApiFeatures, bulk_query: str) -> Operation:
    """Start a bulk query; objects are not grouped (our rows have no children)."""
    if features.group_objects:
        query = """mutation RunBulkQuery($query: String!, $groupObjects: Boolean!) {
  bulkOperationRunQuery(query: $query, groupObjects: $groupObjects) {
    bulkOperation { id status }
    userErrors { code field message }
  }
}"""
        variables: dict[str, Json] = {"query": bulk_query, "groupObjects": False}
    else:
        query = """mutation RunBulkQuery($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { code field message }
  }
}"""
        variables = {"query": bulk_query}
    return Operation(
        name="RunBulkQuery", query=query, variables=variables, estimated_cost=MUTATION_COST
    )


_BULK_FIELDS = "id status errorCode objectCount url partialDataUrl"


def poll_bulk_operation(features: ApiFeatures, operation_id: str) -> Operation:
    """The state of one bulk operation (``bulkOperation(id:)`` where it exists)."""
    if features.bulk_operation_query:
        query = f"""query PollBulkOperation($id: ID!) {{
  bulkOperation(id: $id) {{ {_BULK_FIELDS} }}
}}"""
    else:
        query = f"""query PollBulkOperation($id: ID!) {{
  bulkOperation: node(id: $id) {{ ... on BulkOperation {{ {_BULK_FIELDS} }} }}
}}"""
    return Operation(
        name="PollBulkOperation",
        query=query,
        variables={"id": operation_id},
        estimated_cost=OBJECT_COST,
    )


def _check_batch(size: int) -> None:
    if not 0 < size <= MAX_IDS_PER_CALL:
        raise ValueError(f"a batch holds 1 to {MAX_IDS_PER_CALL} elements, not {size}")
