"""Creating, updating and deleting webhook subscriptions (shared by GraphQL and REST)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shopify_sync.simulator.inventory import UserError
from shopify_sync.simulator.model import Subscription
from shopify_sync.simulator.store import Store

_ADDRESS = re.compile(r"^(https?://\S+|pubsub://\S+:\S+|arn:aws:events:\S+)$")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,50}$")


def _address(spec: Mapping[str, Any]) -> str | None:
    value = spec.get("uri") or spec.get("callbackUrl") or spec.get("address")
    return str(value) if value is not None else None


def create_subscription(
    store: Store, topic: str, spec: Mapping[str, Any], api_version: str
) -> tuple[Subscription | None, list[UserError]]:
    """Subscribe an address to a topic (REST form) for payloads of `api_version`.

    Plain `http://` addresses are accepted (Shopify requires HTTPS) so local services work.
    """
    address = _address(spec)
    if address is None or not _ADDRESS.match(address):
        field = "uri" if "uri" in spec else "callbackUrl"
        return None, [UserError(None, ["webhookSubscription", field], "Address is invalid")]
    name = spec.get("name")
    if name is not None and not _NAME.match(str(name)):
        return None, [UserError(None, ["webhookSubscription", "name"], "Name is invalid")]
    for existing in store.subscriptions.values():
        if existing.topic == topic and existing.address == address:
            return None, [
                UserError(
                    None,
                    ["webhookSubscription", "callbackUrl"],
                    "Address for this topic has already been taken",
                )
            ]
    now = store.now()
    sub = Subscription(
        id=store.ids.next("WebhookSubscription"),
        topic=topic,
        address=address,
        api_version=api_version,
        created_at=now,
        updated_at=now,
        format=str(spec.get("format") or "json").lower(),
        include_fields=list(spec.get("includeFields") or spec.get("fields") or []),
        metafield_namespaces=list(
            spec.get("metafieldNamespaces") or spec.get("metafield_namespaces") or []
        ),
        name=name,
        filter=spec.get("filter"),
    )
    store.subscriptions[sub.id] = sub
    return sub, []


def update_subscription(
    store: Store, sub_id: int | None, spec: Mapping[str, Any]
) -> tuple[Subscription | None, list[UserError]]:
    """Change the address, fields or filter of a subscription."""
    sub = store.subscriptions.get(sub_id) if sub_id is not None else None
    if sub is None:
        return None, [UserError(None, ["id"], "Webhook subscription does not exist")]
    address = _address(spec)
    if address is not None:
        if not _ADDRESS.match(address):
            return None, [UserError(None, ["webhookSubscription", "uri"], "Address is invalid")]
        sub.address = address
    if "includeFields" in spec:
        sub.include_fields = list(spec["includeFields"] or [])
    if "filter" in spec:
        sub.filter = spec["filter"]
    if "name" in spec:
        sub.name = spec["name"]
    if spec.get("format"):
        sub.format = str(spec["format"]).lower()
    sub.updated_at = store.now()
    return sub, []


def delete_subscription(store: Store, sub_id: int | None) -> list[UserError]:
    """Remove a subscription."""
    if sub_id is None or store.subscriptions.pop(sub_id, None) is None:
        return [UserError(None, ["id"], "Webhook subscription does not exist")]
    return []
