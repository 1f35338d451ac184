"""A tiny client for the B2B platform's Inventory Service: tell shopify-sync to push now.

It replaces the seed's Worker service binding with an authenticated HTTP call::

    from shopify_sync.sync_client import SyncClient

    client = SyncClient("https://sync.internal:8080", token=os.environ["SYNC_API_TOKEN"])
    # after a B2B order changed b2b_stock / b2c_stock in product_inventory:
    result = client.sync_product("prod_123")

The call is an optimisation, not a requirement: a row whose ``b2c_stock`` moved is found by
the service's pending scan within seconds even if this call fails or is never made. So a
failure here should be logged by the caller, never fail the B2B order. It depends on httpx
only and shares no code with the service.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

RETRY_STATUSES = frozenset({429, 502, 503, 504})


class SyncClientError(Exception):
    """The sync service refused the call or could not be reached; ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What the service did for one product."""

    product_id: str
    action: str
    b2c_stock: int | None
    shopify_available: int | None
    error: str | None = None


class SyncClient:
    """Blocking client for ``POST /sync/{product_id}``, ``POST /sync/all`` and ``GET /health``.

    Args:
        base_url: where ``shopify-sync serve`` listens.
        token: the service's ``SYNC_API_TOKEN``.
        timeout_s: per request.
        attempts: tries for connection errors and 429/502/503/504 (with a short backoff).
        http: an ``httpx.Client`` to reuse (tests pass one with a mock transport).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 30.0,
        attempts: int = 3,
        http: httpx.Client | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._attempts = max(1, attempts)
        self._http = http or httpx.Client(timeout=timeout_s)

    def sync_product(self, product_id: str) -> SyncResult:
        """Merge and push one product now.

        Raises:
            SyncClientError: 404 unknown product, 409 not linked or disabled, 401 bad token,
                502 Shopify failed (the service records it and retries on its own).
        """
        body = self._post(f"/sync/{quote(product_id, safe='')}")
        return SyncResult(
            product_id=body["product_id"],
            action=body["action"],
            b2c_stock=body.get("b2c_stock"),
            shopify_available=body.get("shopify_available"),
            error=body.get("error"),
        )

    def sync_all(self, *, dry_run: bool = False) -> dict[str, Any]:
        """Run a full reconcile (or its dry run) and return the service's summary."""
        return self._post("/sync/all" + ("?dry_run=true" if dry_run else ""))

    def health(self) -> dict[str, Any]:
        """The service's health report."""
        response = self._http.get(f"{self._base}/health", headers=self._headers)
        data: dict[str, Any] = response.json()
        return data

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, path: str) -> dict[str, Any]:
        last: SyncClientError | None = None
        for attempt in range(self._attempts):
            if attempt:
                time.sleep(min(2.0, 0.2 * 2**attempt))
            try:
                response = self._http.post(f"{self._base}{path}", headers=self._headers)
            except httpx.HTTPError as exc:
                last = SyncClientError(f"shopify-sync unreachable: {exc}")
                continue
            try:
                data: dict[str, Any] = response.json()
            except ValueError:
                data = {"detail": response.text[:300]}
            if response.status_code < 300:
                return data
            last = SyncClientError(
                f"shopify-sync answered {response.status_code}: "
                f"{data.get('detail') or data.get('error') or data}",
                response.status_code,
                data,
            )
            if response.status_code not in RETRY_STATUSES:
                break
        assert last is not None
        raise last
