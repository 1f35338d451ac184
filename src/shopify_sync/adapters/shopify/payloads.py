"""Adapter: Shopify's JSON answers parsed at the edge and mapped to domain values.

Pydantic models mirror only the fields our documents select; everything that leaves
this module is a domain type (or a small frozen value of the adapter). A body that does
not fit raises :class:`MalformedResponse`, which the client translates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, ValidationError
from pydantic.alias_generators import to_camel

from shopify_sync.adapters.shopify.gid import GidKind, from_gid
from shopify_sync.adapters.shopify.topics import topic_rest
from shopify_sync.domain.model import (
    LevelRead,
    Location,
    QuantityWrite,
    Variant,
    WebhookSubscription,
    WriteError,
    WriteErrorKind,
    WriteResult,
)
from shopify_sync.types import InventoryItemId, LocationId, VariantId

STALE_CODES = frozenset({"COMPARE_QUANTITY_STALE", "CHANGE_FROM_QUANTITY_STALE"})
RETRY_CODES = frozenset({"IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"})
CONCURRENT_REQUEST = "IDEMPOTENCY_CONCURRENT_REQUEST"
KEY_MISMATCH = "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"


_FIRST_MATCH = Field(union_mode="left_to_right")
"""A node that is not of the fragment's type arrives as ``{}``: try the model first."""


class MalformedResponse(ValueError):
    """Shopify's answer does not have the shape our document asked for."""


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="ignore", alias_generator=to_camel, validate_by_name=True
    )


# -- envelope -----------------------------------------------------------------------------


class ThrottleStatus(_Model):
    """The cost bucket as Shopify reports it after a call."""

    maximum_available: float
    currently_available: float
    restore_rate: float


class Cost(_Model):
    """``extensions.cost`` of a response."""

    requested_query_cost: float | None = None
    actual_query_cost: float | None = None
    throttle_status: ThrottleStatus | None = None


class _Extensions(_Model):
    cost: Cost | None = None


class _ErrorExtensions(_Model):
    code: str | None = None


class GraphQLError(_Model):
    """One entry of a response's top-level ``errors``."""

    message: str = ""
    extensions: _ErrorExtensions | None = None

    @property
    def code(self) -> str | None:
        """Shopify's machine-readable code (``THROTTLED``, ``MAX_COST_EXCEEDED``...), if any."""
        return self.extensions.code if self.extensions is not None else None


class Envelope(_Model):
    """A GraphQL response before its ``data`` is parsed for one operation."""

    data: dict[str, JsonValue] | None = None
    errors: list[GraphQLError] = []
    extensions: _Extensions | None = None

    @property
    def cost(self) -> Cost | None:
        """The cost report, when Shopify sent one."""
        return self.extensions.cost if self.extensions is not None else None


def parse_envelope(body: bytes) -> Envelope:
    """Parse a 200 answer's body."""
    try:
        return Envelope.model_validate_json(body)
    except ValidationError as exc:
        raise MalformedResponse(f"not a GraphQL response: {exc.error_count()} problems") from exc


_M = TypeVar("_M", bound=_Model)


def _parse(model: type[_M], data: Mapping[str, JsonValue] | None) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MalformedResponse(f"unexpected {model.__name__}: {exc}") from exc


# -- inventory levels -----------------------------------------------------------------------


class _Quantity(_Model):
    name: str | None = None
    quantity: int
    updated_at: AwareDatetime | None = None


class _Level(_Model):
    updated_at: AwareDatetime | None = None
    quantities: list[_Quantity] = []


class InventoryItemNode(_Model):
    """An inventory item with its level at our location (also one row of the bulk JSONL)."""

    id: str | None = None
    tracked: bool = True
    inventory_level: _Level | None = None


class _LevelsData(_Model):
    nodes: list[InventoryItemNode | None]


def _level_read(item: InventoryItemId, node: InventoryItemNode | None) -> LevelRead:
    if node is None or node.id is None:
        return LevelRead(item, available=None, updated_at=None, tracked=False, known=False)
    level = node.inventory_level
    if level is None:
        return LevelRead(item, available=None, updated_at=None, tracked=node.tracked)
    available = next((q for q in level.quantities if q.name in (None, "available")), None)
    if available is None:
        raise MalformedResponse(f"no available quantity for inventory item {item}")
    # The level's updatedAt is what inventory_levels/update webhooks carry as updated_at.
    updated_at = level.updated_at or available.updated_at
    return LevelRead(
        item, available=available.quantity, updated_at=updated_at, tracked=node.tracked
    )


def level_reads(
    data: Mapping[str, JsonValue] | None, requested: Sequence[InventoryItemId]
) -> dict[InventoryItemId, LevelRead]:
    """Map a ``ReadLevels`` answer (nodes in request order) to one read per requested id."""
    nodes = _parse(_LevelsData, data).nodes
    if len(nodes) != len(requested):
        raise MalformedResponse(f"asked for {len(requested)} nodes, got {len(nodes)}")
    return {item: _level_read(item, node) for item, node in zip(requested, nodes, strict=True)}


def snapshot_row(line: str) -> LevelRead:
    """One JSONL line of the snapshot bulk operation."""
    try:
        node = InventoryItemNode.model_validate_json(line)
    except ValidationError as exc:
        raise MalformedResponse(f"unexpected bulk row: {exc.error_count()} problems") from exc
    if node.id is None:
        raise MalformedResponse("bulk row without an id")
    return _level_read(InventoryItemId(_number("InventoryItem", node.id)), node)


# -- writes ---------------------------------------------------------------------------------


class _AdjustmentGroup(_Model):
    id: str
    created_at: AwareDatetime | None = None


class SetUserError(_Model):
    """One ``userErrors`` entry of ``inventorySetQuantities``."""

    code: str | None = None
    field: list[str] | None = None
    message: str = ""


class _SetPayload(_Model):
    inventory_adjustment_group: _AdjustmentGroup | None = None
    user_errors: list[SetUserError] = []


class _SetData(_Model):
    inventory_set_quantities: _SetPayload


def set_user_errors(data: Mapping[str, JsonValue] | None) -> list[SetUserError]:
    """The userErrors of a ``SetAvailable`` answer (empty on success)."""
    return _parse(_SetData, data).inventory_set_quantities.user_errors


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
    payload = _parse(_SetData, data).inventory_set_quantities
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


# -- variants, locations, webhooks ----------------------------------------------------------


class _PageInfo(_Model):
    has_next_page: bool = False
    end_cursor: str | None = None


class _Id(_Model):
    id: str


class _VariantNode(_Model):
    id: str
    inventory_item: _Id


class _VariantsData(_Model):
    nodes: list[Annotated[_VariantNode | dict[str, JsonValue] | None, _FIRST_MATCH]]


def inventory_items_of(data: Mapping[str, JsonValue] | None) -> dict[VariantId, InventoryItemId]:
    """Map a ``ResolveInventoryItems`` answer; unknown variants (null/empty nodes) are left out."""
    result: dict[VariantId, InventoryItemId] = {}
    for node in _parse(_VariantsData, data).nodes:
        if isinstance(node, _VariantNode):
            variant = VariantId(_number("ProductVariant", node.id))
            result[variant] = InventoryItemId(_number("InventoryItem", node.inventory_item.id))
    return result


class _Title(_Model):
    title: str


class _TrackedItem(_Model):
    id: str
    tracked: bool = True


class _FoundVariant(_Model):
    id: str
    title: str = ""
    sku: str | None = None
    product: _Title
    inventory_item: _TrackedItem


class _VariantPage(_Model):
    nodes: list[_FoundVariant]
    page_info: _PageInfo


class _FindData(_Model):
    product_variants: _VariantPage


_DEFAULT_VARIANT_TITLE = "Default Title"
"""Shopify's title for the only variant of a product without options."""


def variant_page(data: Mapping[str, JsonValue] | None) -> tuple[list[Variant], str | None]:
    """Map one ``FindVariants`` page; returns the variants and the next cursor (None at the end)."""
    page = _parse(_FindData, data).product_variants
    variants = []
    for node in page.nodes:
        title = node.product.title
        if node.title and node.title != _DEFAULT_VARIANT_TITLE:
            title = f"{title} - {node.title}"
        variants.append(
            Variant(
                id=VariantId(_number("ProductVariant", node.id)),
                inventory_item_id=InventoryItemId(_number("InventoryItem", node.inventory_item.id)),
                sku=node.sku or None,
                title=title,
                tracked=node.inventory_item.tracked,
            )
        )
    return variants, _next_cursor(page.page_info)


class _LocationNode(_Model):
    id: str
    name: str
    is_active: bool = True
    fulfills_online_orders: bool = True


class _LocationPage(_Model):
    nodes: list[_LocationNode]
    page_info: _PageInfo


class _LocationsData(_Model):
    locations: _LocationPage


def location_page(data: Mapping[str, JsonValue] | None) -> tuple[list[Location], str | None]:
    """Map one ``Locations`` page; returns the locations and the next cursor."""
    page = _parse(_LocationsData, data).locations
    found = [
        Location(
            id=LocationId(_number("Location", node.id)),
            name=node.name,
            active=node.is_active,
            fulfills_online_orders=node.fulfills_online_orders,
        )
        for node in page.nodes
    ]
    return found, _next_cursor(page.page_info)


class _WebhookNode(_Model):
    id: str
    topic: str
    uri: str | None = None
    callback_url: str | None = None

    def to_domain(self) -> WebhookSubscription:
        return WebhookSubscription(
            id=self.id, topic=topic_rest(self.topic), uri=self.uri or self.callback_url or ""
        )


class _WebhookPage(_Model):
    nodes: list[_WebhookNode]
    page_info: _PageInfo


class _WebhooksData(_Model):
    webhook_subscriptions: _WebhookPage


def webhook_page(
    data: Mapping[str, JsonValue] | None,
) -> tuple[list[WebhookSubscription], str | None]:
    """Map one ``WebhookSubscriptions`` page; returns the subscriptions and the next cursor."""
    page = _parse(_WebhooksData, data).webhook_subscriptions
    return [node.to_domain() for node in page.nodes], _next_cursor(page.page_info)


class UserError(_Model):
    """A plain ``userErrors`` entry (webhook and bulk mutations)."""

    field: list[str] | None = None
    message: str = ""
    code: str | None = None


class _CreatePayload(_Model):
    webhook_subscription: _WebhookNode | None = None
    user_errors: list[UserError] = []


class _CreateData(_Model):
    webhook_subscription_create: _CreatePayload


def created_webhook(
    data: Mapping[str, JsonValue] | None,
) -> WebhookSubscription | list[UserError]:
    """The new subscription, or Shopify's reasons for refusing it."""
    payload = _parse(_CreateData, data).webhook_subscription_create
    if payload.user_errors or payload.webhook_subscription is None:
        return payload.user_errors or [UserError(message="no subscription returned")]
    return payload.webhook_subscription.to_domain()


class _DeletePayload(_Model):
    deleted_webhook_subscription_id: str | None = None
    user_errors: list[UserError] = []


class _DeleteData(_Model):
    webhook_subscription_delete: _DeletePayload


def delete_errors(data: Mapping[str, JsonValue] | None) -> list[UserError]:
    """Shopify's reasons for refusing a deletion (empty on success)."""
    return _parse(_DeleteData, data).webhook_subscription_delete.user_errors


# -- bulk operations ------------------------------------------------------------------------


class BulkOperation(_Model):
    """The state of a bulk operation."""

    id: str
    status: str
    error_code: str | None = None
    object_count: str | int | None = None
    url: str | None = None
    partial_data_url: str | None = None


class _RunPayload(_Model):
    bulk_operation: BulkOperation | None = None
    user_errors: list[UserError] = []


class _RunData(_Model):
    bulk_operation_run_query: _RunPayload


def started_bulk_operation(data: Mapping[str, JsonValue] | None) -> BulkOperation | list[UserError]:
    """The started operation, or Shopify's reasons for not starting it."""
    payload = _parse(_RunData, data).bulk_operation_run_query
    if payload.user_errors or payload.bulk_operation is None:
        return payload.user_errors or [UserError(message="no bulk operation returned")]
    return payload.bulk_operation


class _PollData(_Model):
    bulk_operation: Annotated[BulkOperation | dict[str, JsonValue] | None, _FIRST_MATCH] = None


def polled_bulk_operation(data: Mapping[str, JsonValue] | None) -> BulkOperation | None:
    """The operation's state; None when Shopify does not know the id."""
    polled = _parse(_PollData, data).bulk_operation
    return polled if isinstance(polled, BulkOperation) else None


# -- shared ---------------------------------------------------------------------------------


def _next_cursor(page_info: _PageInfo) -> str | None:
    return page_info.end_cursor if page_info.has_next_page else None


def _number(kind: GidKind, gid: str) -> int:
    try:
        return from_gid(kind, gid)
    except ValueError as exc:
        raise MalformedResponse(str(exc)) from exc
