"""Adapter: what each Shopify Admin API version offers, as flags the documents are built from."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shopify_sync.errors import ConfigError

_VERSION = re.compile(r"^(\d{4})-(\d{2})$")
_UNSTABLE = (9999, 12)
"""``unstable`` is ahead of every stable version."""


@dataclass(frozen=True, slots=True)
class ApiFeatures:
    """The schema and runtime differences between versions that change what we send."""

    version: str
    change_from_quantity: bool
    """``changeFromQuantity`` replaces ``compareQuantity`` (2026-01 on)."""
    idempotent_directive: bool
    """``@idempotent(key:)`` exists (2026-01 on; mandatory at runtime from 2026-04)."""
    group_objects: bool
    """``bulkOperationRunQuery`` takes ``groupObjects`` (2025-07 on)."""
    bulk_operation_query: bool
    """``bulkOperation(id:)`` exists at the query root (2026-01 on); else poll ``node(id:)``."""
    webhook_uri: bool
    """``WebhookSubscriptionInput.uri`` exists (2025-10 on); else ``callbackUrl``."""
    set_anywhere: bool = False
    """A quantity can be set at a location where the item is not stocked, which stocks it
    there (2026-10 on; before, ``ITEM_NOT_STOCKED_AT_LOCATION``)."""


def _at_least(parts: tuple[int, int], year: int, month: int) -> bool:
    return parts >= (year, month)


def features_for(version: str) -> ApiFeatures:
    """
    Return the flags of one API version.

    Args:
        version: ``YYYY-MM`` (a quarter's release) or ``unstable``.

    Raises:
        ConfigError: the version is not in either form.
    """
    if version == "unstable":
        parts = _UNSTABLE
    else:
        match = _VERSION.match(version)
        if match is None:
            raise ConfigError("SHOPIFY_API_VERSION", "a version such as 2026-04, or unstable")
        parts = (int(match.group(1)), int(match.group(2)))
    return ApiFeatures(
        version=version,
        change_from_quantity=_at_least(parts, 2026, 1),
        idempotent_directive=_at_least(parts, 2026, 1),
        group_objects=_at_least(parts, 2025, 7),
        bulk_operation_query=_at_least(parts, 2026, 1),
        webhook_uri=_at_least(parts, 2025, 10),
        set_anywhere=_at_least(parts, 2026, 10),
    )
