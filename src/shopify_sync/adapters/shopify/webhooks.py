"""Adapter: Shopify webhook deliveries -> commands.

Verifies ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body with the app's
client secret, constant-time compare) before anything else, then parses the payload at
the edge into domain commands. 64-bit ids stay exact (Python's json keeps big ints).

Every field and header read is parsed into a bounded value before anything else sees it:
quantities within Shopify's own +-2,000,000,000, ids within 1..2^63-1, timestamps between
2006 and 2100, texts without NUL and of bounded length. A signed body outside those bounds
is refused (``WebhookRejected``, 400). A header the signature does not cover (shop domain,
API version, triggered-at, webhook id) that cannot be parsed is treated as absent and
logged: anyone who saw one genuine delivery could replay it with such a header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import structlog
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from shopify_sync.domain.commands import ApplyInventoryLevel, OrderLine, RecordOrder, WebhookMeta
from shopify_sync.errors import WebhookRejected, WebhookUnauthorized
from shopify_sync.types import (
    MAX_SHOPIFY_ID,
    SHOPIFY_QUANTITY_LIMIT,
    InventoryItemId,
    LocationId,
    VariantId,
)

log = structlog.get_logger(__name__)

EARLIEST = datetime(2006, 1, 1, tzinfo=UTC)
"""No Shopify timestamp is older than Shopify."""
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""Nor this far ahead (a level merely ahead of our clock is re-read, not refused)."""
MAX_TEXT = 1000
"""Longest title, name or SKU kept from a payload (longer ones are cut)."""
MAX_HEADER = 200
"""Longest identifier header taken (event and webhook ids, domain, version)."""


def sign(body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify sends for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _in_window(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a UTC offset")
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must lie between {EARLIEST:%Y} and {LATEST:%Y}")
    return value


def _text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value[:MAX_TEXT]


ShopifyId = Annotated[int, Field(strict=True, ge=1, le=MAX_SHOPIFY_ID)]
Quantity = Annotated[int, Field(strict=True, ge=-SHOPIFY_QUANTITY_LIMIT, le=SHOPIFY_QUANTITY_LIMIT)]
# Bounds checked inside pydantic-core: a Python validator here cost 4 µs a delivery.
Timestamp = Annotated[AwareDatetime, Field(ge=EARLIEST, lt=LATEST)]
Text = Annotated[str, AfterValidator(_text)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _InventoryLevel(_Payload):
    inventory_item_id: ShopifyId
    location_id: ShopifyId
    available: Quantity | None
    updated_at: Timestamp | None = None


class _LineItem(_Payload):
    id: ShopifyId
    variant_id: ShopifyId | None = None
    sku: Text | None = None
    quantity: Annotated[int, Field(strict=True, ge=0, le=SHOPIFY_QUANTITY_LIMIT)]
    title: Text = ""


class _Order(_Payload):
    id: ShopifyId
    name: Text = ""
    test: bool = False
    line_items: list[_LineItem] = Field(default_factory=list, max_length=10_000)


_M = TypeVar("_M", bound=_Payload)
_log = structlog.get_logger(__name__)


class ShopifyWebhookDecoder:
    """Checks signatures and turns verified bodies into commands.

    Several secrets may be given, and a ``previous`` one: after a secret rotation Shopify
    may keep signing with the old secret for a while; a delivery verified by it is logged.
    """

    def __init__(self, secrets: Sequence[str], *, previous: str | None = None) -> None:
        # No secret (a command that receives no webhooks): every delivery is refused.
        self._secrets = [s.encode("utf-8") for s in secrets]
        self._previous = previous.encode("utf-8") if previous else None

    def verify(self, body: bytes, signature: str | None) -> None:
        """Raise WebhookUnauthorized unless ``signature`` is the HMAC of ``body``."""
        if not signature:
            raise WebhookUnauthorized("missing X-Shopify-Hmac-Sha256 header")
        given = signature.strip().encode("ascii", "replace")
        for secret in self._secrets:
            if _matches(secret, body, given):
                return
        if self._previous is not None and _matches(self._previous, body, given):
            _log.warning(
                "webhook_verified_with_previous_secret",
                detail="Shopify still signs with SHOPIFY_WEBHOOK_SECRET_PREVIOUS; remove it once "
                "no delivery has needed it for a day",
            )
            return
        raise WebhookUnauthorized("X-Shopify-Hmac-Sha256 does not match the body")

    def meta(self, headers: Mapping[str, str], topic: str) -> WebhookMeta:
        """The delivery's identity from its headers (case-insensitive).

        None of them is covered by the signature: one that cannot be parsed is treated as
        absent (and logged), never a failure, except that a delivery needs an id to be
        de-duplicated by and must be for this endpoint's topic.
        """
        lower = {k.lower(): v for k, v in headers.items()}
        sent_topic = _header(lower, "x-shopify-topic", _identifier, topic)
        if sent_topic is not None and sent_topic != topic:
            raise WebhookRejected(
                f"X-Shopify-Topic is {sent_topic!r}, this endpoint takes {topic!r}"
            )
        webhook_id = _header(lower, "x-shopify-webhook-id", _identifier, topic)
        event_id = _header(lower, "x-shopify-event-id", _identifier, topic) or webhook_id
        if not event_id:
            raise WebhookRejected(
                "missing X-Shopify-Event-Id (and X-Shopify-Webhook-Id) header: "
                f"1 to {MAX_HEADER} printable ASCII characters"
            )
        return WebhookMeta(
            event_id=event_id,
            webhook_id=webhook_id,
            topic=topic,
            shop_domain=_header(lower, "x-shopify-shop-domain", _domain, topic),
            triggered_at=_header(lower, "x-shopify-triggered-at", _timestamp, topic),
            api_version=_header(lower, "x-shopify-api-version", _api_version, topic),
        )

    def inventory_level(self, meta: WebhookMeta, body: bytes) -> ApplyInventoryLevel:
        """Parse an ``inventory_levels/update`` body."""
        payload = _parse(_InventoryLevel, body)
        return ApplyInventoryLevel(
            meta=meta,
            inventory_item_id=InventoryItemId(payload.inventory_item_id),
            location_id=LocationId(payload.location_id),
            available=payload.available,
            updated_at=payload.updated_at,
        )

    def order(self, meta: WebhookMeta, body: bytes) -> RecordOrder:
        """Parse an ``orders/create`` body."""
        payload = _parse(_Order, body)
        return RecordOrder(
            meta=meta,
            order_id=payload.id,
            name=payload.name or f"#{payload.id}",
            test=payload.test,
            lines=tuple(
                OrderLine(
                    line_item_id=line.id,
                    variant_id=VariantId(line.variant_id) if line.variant_id else None,
                    sku=line.sku,
                    quantity=line.quantity,
                    title=line.title,
                )
                for line in payload.line_items
            ),
        )


def _matches(secret: bytes, body: bytes, given: bytes) -> bool:
    expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, given)


def _parse(model: type[_M], body: bytes) -> _M:
    """``body`` parsed and validated in one pass (pydantic's JSON parser)."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise WebhookRejected(f"body is not valid JSON: {first['msg']}") from None
        if first["type"] == "model_type" and not first["loc"]:
            raise WebhookRejected("body is not a JSON object") from None
        where = ".".join(str(p) for p in first["loc"]) or "body"
        reason = first["msg"].removeprefix("Value error, ")
        raise WebhookRejected(f"invalid payload: {where}: {reason}") from None


_T = TypeVar("_T")
_IDENTIFIER = re.compile(rf"[\x21-\x7e]{{1,{MAX_HEADER}}}")
_DOMAIN = re.compile(
    r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+"
)
_API_VERSION = re.compile(r"\d{4}-\d{2}|unstable")


def _header(
    lower: Mapping[str, str], name: str, parse: Callable[[str], _T | None], topic: str
) -> _T | None:
    """Header ``name`` parsed, or None when absent or unparseable (logged, not refused)."""
    raw = lower.get(name)
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    value = parse(text)
    if value is None:
        log.warning(
            "webhook header ignored: cannot be parsed; treated as absent",
            header=name,
            topic=topic,
            value=raw[:80],
            length=len(raw),
        )
    return value


def _identifier(text: str) -> str | None:
    return text if _IDENTIFIER.fullmatch(text) else None


def _domain(text: str) -> str | None:
    value = text.lower()
    return value if len(value) <= MAX_HEADER and _DOMAIN.fullmatch(value) else None


def _api_version(text: str) -> str | None:
    return text if _API_VERSION.fullmatch(text) else None


def _timestamp(text: str) -> datetime | None:
    if len(text) > 40:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return _in_window(value)
    except ValueError:
        return None
