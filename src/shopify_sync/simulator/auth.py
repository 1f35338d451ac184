"""How the simulated shop authenticates an app: the static token of an admin-created app, and
the client credentials grant of a Dev Dashboard app (`POST /admin/oauth/access_token`), whose
tokens expire. Also the scopes the app was granted and what each operation needs.

Shopify's answers reproduced here (reference section 16): a grant answers
`{"access_token", "scope", "expires_in"}`; a wrong secret or an uninstalled app answers
`{"error": "invalid_client", ...}`; an expired or unknown token on the Admin API answers 401
with `[API] Invalid API key or access token`.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson

from shopify_sync.simulator.clock import Clock
from shopify_sync.simulator.config import DEFAULT_SCOPES, DEFAULT_TOKEN_LIFETIME_S

ISSUED_PREFIX = "shpat_cc_"

ACCESS_DOCS = "https://shopify.dev/api/usage/access-scopes"

# Each top-level field and the scopes that allow it (any one; a write scope implies its read).
_READ_INVENTORY = ("read_inventory", "write_inventory")
_WRITE_INVENTORY = ("write_inventory",)
_READ_PRODUCTS = ("read_products", "write_products")
_WRITE_PRODUCTS = ("write_products",)
_READ_ORDERS = ("read_orders", "write_orders")
_READ_LOCATIONS = ("read_locations", "write_locations", *_READ_INVENTORY)
REQUIRED_SCOPES: dict[str, tuple[str, ...]] = {
    "inventoryItem": _READ_INVENTORY,
    "inventoryItems": _READ_INVENTORY,
    "inventoryLevel": _READ_INVENTORY,
    "inventorySetQuantities": _WRITE_INVENTORY,
    "inventoryAdjustQuantities": _WRITE_INVENTORY,
    "inventorySetOnHandQuantities": _WRITE_INVENTORY,
    "inventoryMoveQuantities": _WRITE_INVENTORY,
    "inventoryActivate": _WRITE_INVENTORY,
    "inventoryDeactivate": _WRITE_INVENTORY,
    "inventoryBulkToggleActivation": _WRITE_INVENTORY,
    "inventoryItemUpdate": _WRITE_INVENTORY,
    "location": _READ_LOCATIONS,
    "locations": _READ_LOCATIONS,
    "product": _READ_PRODUCTS,
    "products": _READ_PRODUCTS,
    "productVariant": _READ_PRODUCTS,
    "productVariants": _READ_PRODUCTS,
    "productCreate": _WRITE_PRODUCTS,
    "productUpdate": _WRITE_PRODUCTS,
    "productVariantsBulkUpdate": _WRITE_PRODUCTS,
    "order": _READ_ORDERS,
    "orders": _READ_ORDERS,
}


def missing_scope(field: str, granted: Iterable[str]) -> str | None:
    """The scope *field* needs when none of its allowing scopes is granted, else None."""
    allowed = REQUIRED_SCOPES.get(field)
    if allowed is None or set(allowed) & set(granted):
        return None
    return allowed[0]


def access_denied(field: str, scope: str, path: list[Any]) -> dict[str, Any]:
    """Shopify's GraphQL error for a field outside the granted scopes."""
    return {
        "message": f"Access denied for {field} field. Required access: `{scope}` access scope.",
        "path": path,
        "extensions": {
            "code": "ACCESS_DENIED",
            "documentation": ACCESS_DOCS,
            "requiredAccess": f"`{scope}` access scope.",
        },
    }


@dataclass(frozen=True, slots=True)
class Grant:
    """The answer to one token request: a JSON body and its HTTP status."""

    status: int
    body: dict[str, Any]


class Auth:
    """The app's credentials, the tokens issued to it and their expiry; thread-safe.

    Args:
        clock: expiry is measured on its wall clock, so `/_simulator/clock/advance` expires.
        static_token: the admin-created app's token (never expires); empty disables it.
        client_id, client_secret: the Dev Dashboard app's credentials.
        lifetime_s: `expires_in` of the tokens issued from now on.
        scopes: the scopes granted to the app (both kinds of token).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        static_token: str,
        client_id: str,
        client_secret: str,
        lifetime_s: int = DEFAULT_TOKEN_LIFETIME_S,
        scopes: Iterable[str] = DEFAULT_SCOPES,
    ) -> None:
        self._clock = clock
        self._static = static_token
        self.client_id = client_id
        self._secret = client_secret
        self.lifetime_s = lifetime_s
        self.scopes: tuple[str, ...] = tuple(scopes)
        self.installed = True
        self.grants = 0
        self.refusals = 0
        self._issued: dict[str, float] = {}
        self._lock = threading.Lock()

    def valid(self, token: str | None) -> bool:
        """True for the static token or an issued token that has not expired, while the app
        is installed."""
        if not token or not self.installed:
            return False
        if self._static and secrets.compare_digest(token, self._static):
            return True
        with self._lock:
            expires_at = self._issued.get(token)
        return expires_at is not None and self._clock.time() < expires_at

    def grant(self, content_type: str, raw: bytes) -> Grant:
        """Answer `POST /admin/oauth/access_token` (JSON or form-encoded body)."""
        fields = _fields(content_type, raw)
        if fields is None:
            return Grant(400, {"error": "invalid_request", "error_description": "Unreadable body"})
        if fields.get("grant_type") != "client_credentials":
            return Grant(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Only client_credentials is supported here",
                },
            )
        client_id = fields.get("client_id", "")
        client_secret = fields.get("client_secret", "")
        if not (
            self.installed
            and secrets.compare_digest(client_id, self.client_id)
            and secrets.compare_digest(client_secret, self._secret)
        ):
            with self._lock:
                self.refusals += 1
            return Grant(
                400,
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed due to unknown client, "
                    "no client authentication included, or unsupported authentication method.",
                },
            )
        token = ISSUED_PREFIX + secrets.token_hex(16)
        with self._lock:
            self._issued[token] = self._clock.time() + self.lifetime_s
            self.grants += 1
        return Grant(
            200,
            {
                "access_token": token,
                "scope": ",".join(self.scopes),
                "expires_in": self.lifetime_s,
            },
        )

    def expire_all(self) -> int:
        """Expire every issued token now (as an uninstall or a revocation does)."""
        with self._lock:
            count = len(self._issued)
            self._issued.clear()
        return count

    def live_tokens(self) -> int:
        """How many issued tokens are still valid."""
        now = self._clock.time()
        with self._lock:
            return sum(1 for expires_at in self._issued.values() if now < expires_at)

    def as_json(self) -> dict[str, Any]:
        """The state the control API shows (never a secret or a token)."""
        return {
            "client_id": self.client_id,
            "installed": self.installed,
            "token_lifetime_s": self.lifetime_s,
            "scopes": list(self.scopes),
            "grants": self.grants,
            "refusals": self.refusals,
            "live_tokens": self.live_tokens(),
            "static_token": bool(self._static),
        }


def _fields(content_type: str, raw: bytes) -> Mapping[str, str] | None:
    if content_type.startswith("application/x-www-form-urlencoded"):
        parsed = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    return {key: value for key, value in body.items() if isinstance(value, str)}
