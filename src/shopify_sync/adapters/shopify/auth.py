"""Adapter: the Admin API access token, static or obtained by the client credentials grant.

An app created in the Shopify admin before 2026 has one token that never expires
(:class:`StaticToken`). A Dev Dashboard app exchanges its client ID and secret at
``POST {shop}/admin/oauth/access_token`` for a token that expires after ``expires_in``
seconds (about a day) and has no refresh token (:class:`ClientCredentials`): it is kept in
memory, exchanged again well before it expires and once more when the Admin API answers 401.
Concurrent callers share one exchange. A refused exchange (``invalid_client``) is not
repeated for a while, so a reconcile of thousands of products does not hammer the endpoint.

No token or secret ever leaves this module in a message or a log line.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Protocol

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from shopify_sync.adapters.shopify.transport import translate_transport_errors
from shopify_sync.errors import StoreAuthFailed, StoreUnavailable
from shopify_sync.services.ports import Clock, Metrics

_log = structlog.get_logger(__name__)

RENEW_AT_FRACTION = 0.8
"""A token is exchanged again once this share of its lifetime has passed (a day-long token:
after about 19 hours), so a call never goes out on its last seconds."""
FIRST_REFUSAL_PAUSE_S = 60.0
"""After a refused exchange, no new exchange for this long (then doubled, up to the max)."""
MAX_REFUSAL_PAUSE_S = 900.0


class AccessTokens(Protocol):
    """Where the GraphQL transport gets the ``X-Shopify-Access-Token`` value."""

    async def token(self) -> str:
        """A token to send now.

        Raises:
            StoreAuthFailed: Shopify refused the credentials (recently: not asked again yet).
            StoreUnavailable: the token endpoint could not be reached.
        """
        ...

    async def renew(self, refused: str) -> str | None:
        """A new token after the Admin API answered 401 to *refused*; None when there is
        no other token to get (a static token)."""
        ...

    def refused(self) -> StoreAuthFailed:
        """The error for a 401 that a new token did not cure: what to check."""
        ...


class StaticToken:
    """The token of an app created in the Shopify admin (``SHOPIFY_ACCESS_TOKEN``)."""

    def __init__(self, token: str | SecretStr, shop: str) -> None:
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        self._shop = shop

    def __repr__(self) -> str:
        return "StaticToken(***)"

    async def token(self) -> str:
        return self._token.get_secret_value()

    async def renew(self, refused: str) -> str | None:
        return None

    def refused(self) -> StoreAuthFailed:
        return StoreAuthFailed(
            f"Shopify refused SHOPIFY_ACCESS_TOKEN (HTTP 401): check that it is the Admin API "
            f"access token of the app installed on {self._shop}, and that the app was not "
            "uninstalled (then install it again and copy its new token)"
        )


class _Grant(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: str = Field(min_length=1)
    expires_in: float | None = Field(default=None, gt=0)
    scope: str = ""


class ClientCredentials:
    """
    Tokens of a Dev Dashboard app from the client credentials grant.

    Args:
        admin_url: the shop's base URL (``https://my-shop.myshopify.com`` or the simulator).
        shop: the shop's domain, named in errors.
        client_id, client_secret: the app's credentials (``SHOPIFY_CLIENT_ID`` / ``_SECRET``).
        http: the shared connection pool.
        clock: time source for expiry and the pause after a refusal.
        metrics: counts each exchange's outcome (``token_renewed``).
    """

    def __init__(
        self,
        admin_url: str,
        shop: str,
        client_id: str,
        client_secret: str | SecretStr,
        *,
        http: httpx.AsyncClient,
        clock: Clock,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._endpoint = f"{admin_url.rstrip('/')}/admin/oauth/access_token"
        self._shop = shop
        self._client_id = client_id
        self._secret = (
            client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        )
        self._http = http
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._renew_at: datetime | None = None
        self._expires_at: datetime | None = None
        self._refusal: StoreAuthFailed | None = None
        self._refused_until: datetime | None = None
        self._refusal_pause_s = FIRST_REFUSAL_PAUSE_S
        self.exchanges = 0
        """How many exchanges were sent (tests and ``doctor`` read it)."""
        self.scopes: tuple[str, ...] = ()
        """The scopes the last exchange reported."""

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self._client_id!r}, secret=***)"

    @property
    def expires_at(self) -> datetime | None:
        """When the current token expires (None before the first exchange)."""
        return self._expires_at

    async def token(self) -> str:
        token = self._token
        if token is not None and not self._due():
            return token
        async with self._lock:
            # Another caller may have exchanged while this one waited for the lock.
            if self._token is not None and not self._due():
                return self._token
            return await self._exchange("expiring" if self._token else "first")

    async def renew(self, refused: str) -> str | None:
        async with self._lock:
            if self._token is not None and self._token != refused:
                return self._token  # renewed by a concurrent caller already
            return await self._exchange("refused by the Admin API (401)")

    def refused(self) -> StoreAuthFailed:
        return StoreAuthFailed(
            f"Shopify refused a freshly issued access token for {self._shop} (HTTP 401): "
            "check that the app (SHOPIFY_CLIENT_ID) is installed on this store and has "
            "access to the Admin API"
        )

    def _due(self) -> bool:
        return self._renew_at is None or self._clock.now() >= self._renew_at

    async def _exchange(self, why: str) -> str:
        now = self._clock.now()
        until = self._refused_until
        if self._refusal is not None and until is not None and now < until:
            raise StoreAuthFailed(
                f"{self._refusal} (not asked again before {until:%H:%M:%S} UTC)",
                code=self._refusal.code,
            )
        self.exchanges += 1
        try:
            token = await self._request(now, why)
        except (StoreAuthFailed, StoreUnavailable):
            if self._metrics is not None:
                self._metrics.token_renewed("failed")
            raise
        if self._metrics is not None:
            self._metrics.token_renewed("ok")
        return token

    async def _request(self, now: datetime, why: str) -> str:
        body = {
            "client_id": self._client_id,
            "client_secret": self._secret.get_secret_value(),
            "grant_type": "client_credentials",
        }
        with translate_transport_errors(self._endpoint):
            response = await self._http.post(
                self._endpoint, json=body, headers={"Accept": "application/json"}
            )
        if response.status_code == 429 or response.status_code >= 500:
            raise StoreUnavailable(
                f"AccessTokenExchange: HTTP {response.status_code} from Shopify's token endpoint"
            )
        grant = self._parse(response)
        if isinstance(grant, StoreAuthFailed):
            self._refuse(grant)
            raise grant
        self._accept(grant, now, why)
        return grant.access_token

    def _parse(self, response: httpx.Response) -> _Grant | StoreAuthFailed:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code == 200:
            try:
                return _Grant.model_validate(payload)
            except ValidationError:
                return StoreAuthFailed(
                    f"AccessTokenExchange: Shopify's token endpoint for {self._shop} answered "
                    "without an access token: check SHOPIFY_ADMIN_URL / SHOPIFY_STORE_DOMAIN"
                )
        error = payload.get("error") if isinstance(payload, dict) else None
        if error == "invalid_client":
            return StoreAuthFailed(
                f"Shopify refused the client credentials for {self._shop} (invalid_client): "
                "check SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET (the app's Settings in the "
                "Dev Dashboard) and that the app is installed on this store",
                code="invalid_client",
            )
        what = error if isinstance(error, str) else f"HTTP {response.status_code}"
        return StoreAuthFailed(
            f"Shopify refused the token exchange for {self._shop} ({what[:80]}): check "
            "SHOPIFY_STORE_DOMAIN and that the app is installed on this store",
            code=what[:80],
        )

    def _refuse(self, error: StoreAuthFailed) -> None:
        now = self._clock.now()
        if self._refusal is not None:
            self._refusal_pause_s = min(MAX_REFUSAL_PAUSE_S, self._refusal_pause_s * 2)
        self._refusal = error
        self._refused_until = now + timedelta(seconds=self._refusal_pause_s)
        self._token = None
        self._renew_at = self._expires_at = None
        _log.error(
            "shopify_token_exchange_refused",
            shop=self._shop,
            error=str(error),
            next_exchange_after=self._refused_until.isoformat(),
        )

    def _accept(self, grant: _Grant, now: datetime, why: str) -> None:
        self._token = grant.access_token
        self._refusal = None
        self._refused_until = None
        self._refusal_pause_s = FIRST_REFUSAL_PAUSE_S
        self.scopes = tuple(s.strip() for s in grant.scope.split(",") if s.strip())
        if grant.expires_in is None:
            # No expiry announced: keep it until the Admin API refuses it (401).
            self._expires_at = None
            self._renew_at = datetime.max.replace(tzinfo=now.tzinfo)
        else:
            self._expires_at = now + timedelta(seconds=grant.expires_in)
            self._renew_at = now + timedelta(seconds=grant.expires_in * RENEW_AT_FRACTION)
        _log.info(
            "shopify_token_obtained",
            shop=self._shop,
            reason=why,
            expires_at=self._expires_at.isoformat() if self._expires_at else None,
            scopes=",".join(self.scopes),
        )
