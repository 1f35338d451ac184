"""Timestamp formats: GraphQL `DateTime` in UTC, REST and webhook times in the shop's offset.

Shopify stores these with one-second resolution, so the state keeps whole epoch seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def shop_zone(name: str) -> tzinfo:
    """Return the shop's time zone, or UTC when the system has no data for it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def iso_utc(epoch_s: int) -> str:
    """Format like GraphQL `DateTime`: `2026-05-01T10:00:01Z`."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_shop(epoch_s: int, zone: tzinfo) -> str:
    """Format like REST and webhook payloads: `2026-05-01T10:00:01-04:00`."""
    return datetime.fromtimestamp(epoch_s, zone).isoformat(timespec="seconds")


def iso_precise(epoch_s: float) -> str:
    """Format like `X-Shopify-Triggered-At`: UTC with sub-second digits."""
    return (
        datetime.fromtimestamp(epoch_s, UTC)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z")
    )


def parse_iso(value: str) -> int | None:
    """Parse an ISO 8601 timestamp (Z or offset; date only means midnight UTC) to epoch seconds."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())
