"""`@idempotent(key:)`: replay, parameter mismatch, concurrent request, previous attempt failed.

A key belongs to one set of parameters (the mutation field and its coerced arguments). The
first request that completes decides: a payload without userErrors is replayed to every
retry; a payload with userErrors marks the key failed, and retries get
IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED (use a new key). Keys are kept 24 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

RETENTION_S = 24 * 3600.0
IDEMPOTENT_FIELDS = frozenset(
    {
        "inventorySetQuantities",
        "inventoryAdjustQuantities",
        "inventoryActivate",
        "inventorySetOnHandQuantities",
        "inventoryMoveQuantities",
        "refundCreate",
    }
)
MESSAGES = {
    "IDEMPOTENCY_CONCURRENT_REQUEST": "This request is currently in progress, please try again.",
    "IDEMPOTENCY_KEY_PARAMETER_MISMATCH": (
        "The same idempotency key cannot be used with different operation parameters."
    ),
    "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED": (
        "A previous request with this idempotency key failed. Retry with a new idempotency key."
    ),
}


@dataclass(slots=True)
class KeyRecord:
    """What one key was used for and how its first request ended."""

    fingerprint: str
    state: Literal["running", "succeeded", "failed"]
    payload: Any
    created_at: float


@dataclass(frozen=True, slots=True)
class Decision:
    """What the resolver must do for one idempotent field of this request."""

    key: str
    fresh: bool = False
    replay: Any = None
    error_code: str | None = None


class IdempotencyStore:
    """Keys of the shop, with the first result of each."""

    def __init__(self) -> None:
        self.records: dict[str, KeyRecord] = {}

    def begin(self, key: str, fingerprint: str, now: float) -> Decision:
        """Claim `key` for a request with these parameters, or say why it cannot run."""
        self._expire(now)
        record = self.records.get(key)
        if record is None:
            self.records[key] = KeyRecord(fingerprint, "running", None, now)
            return Decision(key, fresh=True)
        if record.fingerprint != fingerprint:
            return Decision(key, error_code="IDEMPOTENCY_KEY_PARAMETER_MISMATCH")
        if record.state == "running":
            return Decision(key, error_code="IDEMPOTENCY_CONCURRENT_REQUEST")
        if record.state == "failed":
            return Decision(key, error_code="IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED")
        return Decision(key, replay=record.payload)

    def finish(self, key: str, payload: Any, *, failed: bool) -> None:
        record = self.records.get(key)
        if record is not None and record.state == "running":
            record.state = "failed" if failed else "succeeded"
            record.payload = payload

    def release(self, key: str) -> None:
        """Forget a key whose request never ran (rejected before execution)."""
        record = self.records.get(key)
        if record is not None and record.state == "running":
            del self.records[key]

    def _expire(self, now: float) -> None:
        if len(self.records) < 10_000:
            return
        for key in [k for k, r in self.records.items() if now - r.created_at > RETENTION_S]:
            del self.records[key]
