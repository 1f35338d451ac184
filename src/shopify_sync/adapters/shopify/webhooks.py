"""Adapter: Shopify webhook deliveries -> commands.

Verifies ``X-Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the raw body with the app's
client secret, constant-time compare) before anything else, then parses the payload at
the edge into domain commands. 64-bit ids stay exact (Python's json keeps big ints).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shopify_sync.domain.commands import ApplyInventoryLevel, OrderLine, RecordOrder, WebhookMeta
from shopify_sync.errors import WebhookRejected, WebhookUnauthorized
from shopify_sync.types import InventoryItemId, LocationId, VariantId


def sign(body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify sends for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _InventoryLevel(_Payload):
    inventory_item_id: int = Field(strict=True, gt=0)
    location_id: int = Field(strict=True, gt=0)
    available: int | None = Field(strict=True)
    updated_at: datetime | None = None

    @field_validator("updated_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("updated_at must carry a UTC offset")
        return value


class _LineItem(_Payload):
    id: int = Field(strict=True)
    variant_id: int | None = Field(default=None, strict=True)
    sku: str | None = None
    quantity: int = Field(strict=True, ge=0)
    title: str = ""


class _Order(_Payload):
    id: int = Field(strict=True, gt=0)
    name: str = ""
    test: bool = False
    line_items: list[_LineItem] = Field(default_factory=list)


_M = TypeVar("_M", bound=_Payload)


class ShopifyWebhookDecoder:
    """Checks signatures and turns verified bodies into commands.

    Several secrets may be given: after a secret rotation Shopify keeps signing with
    the old one for up to an hour.
    """

    def __init__(self, secrets: Sequence[str]) -> None:
        # No secret (a command that receives no webhooks): every delivery is refused.
        self._secrets = [s.encode("utf-8") for s in secrets]

    def verify(self, body: bytes, signature: str | None) -> None:
        """Raise WebhookUnauthorized unless ``signature`` is the HMAC of ``body``."""
        if not signature:
            raise WebhookUnauthorized("missing X-Shopify-Hmac-Sha256 header")
        given = signature.strip().encode("ascii", "replace")
        for secret in self._secrets:
            expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())
            if hmac.compare_digest(expected, given):
                return
        raise WebhookUnauthorized("X-Shopify-Hmac-Sha256 does not match the body")

    def meta(self, headers: Mapping[str, str], topic: str) -> WebhookMeta:
        """The delivery's identity from its headers (case-insensitive)."""
        lower = {k.lower(): v for k, v in headers.items()}
        sent_topic = lower.get("x-shopify-topic")
        if sent_topic is not None and sent_topic != topic:
            raise WebhookRejected(
                f"X-Shopify-Topic is {sent_topic!r}, this endpoint takes {topic!r}"
            )
        event_id = lower.get("x-shopify-event-id") or lower.get("x-shopify-webhook-id")
        if not event_id:
            raise WebhookRejected("missing X-Shopify-Event-Id (and X-Shopify-Webhook-Id) header")
        triggered = lower.get("x-shopify-triggered-at")
        return WebhookMeta(
            event_id=event_id.strip()[:200],
            webhook_id=(lower.get("x-shopify-webhook-id") or None),
            topic=topic,
            shop_domain=lower.get("x-shopify-shop-domain"),
            triggered_at=_timestamp(triggered) if triggered else None,
            api_version=lower.get("x-shopify-api-version"),
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
        raise WebhookRejected(f"invalid payload: {where}: {first['msg']}") from None


def _timestamp(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None
