"""Adapter: one GraphQL call to Shopify with pacing, bounded retries and error translation.

Every ``httpx`` exception is translated in :func:`translate_transport_errors`; no library
exception leaves this package. A write (``Operation.is_write``) is only ever resent as the
identical bytes; when it may have reached Shopify and no definite answer came back, the
final error is :class:`~shopify_sync.errors.OutcomeUnknown`. The access token comes from an
:class:`~.auth.AccessTokens`; a 401 gets one new token and the same bytes again (Shopify
checks the token before anything else, so the refused request did nothing).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import httpx
import structlog
from pydantic import JsonValue

from shopify_sync.adapters.shopify.documents import Operation
from shopify_sync.adapters.shopify.envelope import Envelope, MalformedResponse, parse_envelope
from shopify_sync.adapters.shopify.pacing import (
    Backoff,
    CostLimiter,
    OutagePause,
    retry_after_s,
)
from shopify_sync.errors import (
    OutcomeUnknown,
    RateLimited,
    StoreAuthFailed,
    StoreError,
    StoreRejected,
    StoreUnavailable,
)
from shopify_sync.services.ports import Clock, Metrics

if TYPE_CHECKING:
    from shopify_sync.adapters.shopify.auth import AccessTokens

_log = structlog.get_logger(__name__)

EXCERPT_CHARS = 300
"""How much of a refused response's body an error carries."""
_THROTTLED = "THROTTLED"
_RETRYABLE_GRAPHQL_CODES = frozenset({"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Failures before the request left this process: Shopify cannot have acted on it."""


@contextmanager
def translate_transport_errors(url: str) -> Iterator[None]:
    """
    Turn every ``httpx`` exception raised inside into the project's error tree, with a
    message naming where ``url`` points (scheme, host and port) and what to check.

    Raises:
        StoreRejected: the request cannot be made as built (bad URL, unsupported scheme,
            too many redirects); retrying will not help.
        StoreUnavailable: a timeout, a network or protocol failure.
    """
    where = _origin(url)
    try:
        yield
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.TooManyRedirects) as exc:
        raise StoreRejected(
            f"cannot send a request to {where} ({type(exc).__name__}); {_check(where)}"
        ) from exc
    except httpx.TimeoutException as exc:
        raise StoreUnavailable(f"Shopify at {where} did not answer in time") from exc
    except httpx.ConnectError as exc:
        raise StoreUnavailable(
            f"cannot reach Shopify at {where}: {_unreachable(exc)}; {_check(where)}"
        ) from exc
    except (httpx.HTTPError, httpx.StreamError) as exc:
        raise StoreUnavailable(
            f"the connection to Shopify at {where} failed ({type(exc).__name__})"
        ) from exc


def _origin(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return url
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def _unreachable(exc: httpx.ConnectError) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
            return "connection refused"
        if isinstance(cause, socket.gaierror) or "name or service" in str(cause).lower():
            return "host name not found"
        cause = cause.__cause__ or cause.__context__
    return "could not connect"


def _check(where: str) -> str:
    # The configuration accepts only *.myshopify.com shops; anything else is an override.
    if where.endswith(".myshopify.com") or ".myshopify.com:" in where:
        return "check SHOPIFY_STORE_DOMAIN and this machine's network"
    return "check SHOPIFY_ADMIN_URL (is the simulator or proxy it names running?)"


def never_sent(error: StoreError) -> bool:
    """True when *error* came from a failure before the request could reach Shopify."""
    return isinstance(error.__cause__, _NOT_SENT)


def body_excerpt(response: httpx.Response, secret: str) -> str:
    """The start of a response body for an error message, with the token blanked out."""
    text = response.content[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    if secret:
        text = text.replace(secret, "***")
    return text[:EXCERPT_CHARS]


def _call_outcome(error: StoreError) -> str:
    """The ``outcome`` label of a failed call."""
    if isinstance(error, OutcomeUnknown):
        return "outcome_unknown"
    if isinstance(error, RateLimited):
        return "throttled"
    if isinstance(error, StoreAuthFailed):
        return "auth_failed"
    if isinstance(error, StoreRejected):
        return "rejected"
    return "unavailable"


@dataclass(frozen=True, slots=True)
class _Retry:
    """A failed attempt worth repeating: why, how long to wait, and what to raise at the end."""

    reason: str
    wait_s: float
    error: StoreError
    maybe_applied: bool


@dataclass(frozen=True, slots=True)
class _Unauthorized:
    """The Admin API answered 401 to this token: nothing was done."""

    token: str


class GraphQLTransport:
    """Sends :class:`Operation` values to one shop's GraphQL endpoint and returns their data."""

    def __init__(
        self,
        endpoint: str,
        tokens: AccessTokens,
        *,
        http: httpx.AsyncClient,
        clock: Clock,
        limiter: CostLimiter,
        backoff: Backoff,
        max_attempts: int,
        outage: OutagePause | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._endpoint = endpoint
        self._tokens = tokens
        self._http = http
        self._clock = clock
        self._limiter = limiter
        self._backoff = backoff
        self._max_attempts = max_attempts
        self._outage = outage if outage is not None else OutagePause(clock, pause_s=0)
        self._metrics = metrics
        self.answered_version: str | None = None
        """The API version Shopify named in its last answer (``X-Shopify-API-Version``)."""

    async def execute(self, operation: Operation) -> dict[str, JsonValue] | None:
        """
        Send *operation* until Shopify gives a definite answer, and return its ``data``
        (:meth:`_execute`); the call, its outcome and duration go to the metrics.

        Raises:
            StoreUnavailable: paused after an outage (``OutagePause``); nothing was sent.
        """
        try:
            self._outage.check()
        except StoreUnavailable:
            if self._metrics is not None:
                self._metrics.shopify_call(operation.name, "paused", 0.0)
            raise
        if self._metrics is None:
            return await self._execute(operation)
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await self._execute(operation)
        except StoreError as exc:
            outcome = _call_outcome(exc)
            raise
        finally:
            self._metrics.shopify_call(operation.name, outcome, time.perf_counter() - started)

    async def _execute(self, operation: Operation) -> dict[str, JsonValue] | None:
        """
        Send *operation* until Shopify gives a definite answer, and return its ``data``.

        Raises:
            StoreRejected: Shopify refused the request (4xx, GraphQL validation, cost).
            RateLimited: still throttled after the last attempt.
            StoreUnavailable: timeouts, network errors or 5xx through the last attempt.
            OutcomeUnknown: a write that may have been applied got no definite answer.
            StoreAuthFailed: the credentials were refused (a new token did not help).
        """
        body = operation.body()
        maybe_applied = False
        renewed = False
        retry: _Retry | None = None
        attempt = 0
        while attempt < self._max_attempts:
            attempt += 1
            if retry is not None:
                _log.warning(
                    "shopify_request_retried",
                    operation=operation.name,
                    reason=retry.reason,
                    attempt=attempt,
                    wait_s=round(retry.wait_s, 3),
                )
                if self._metrics is not None and isinstance(retry.error, RateLimited):
                    self._metrics.shopify_waited(retry.wait_s)
                await self._clock.sleep(retry.wait_s)
            await self._pace(operation)
            try:
                outcome = await self._attempt(operation, body, attempt)
            except StoreAuthFailed as exc:
                self._outage.answered()  # refused credentials: Shopify itself is reachable
                self._raise_for_write(operation, maybe_applied, exc)
                raise
            except StoreRejected as exc:
                self._outage.answered()
                if operation.is_write and maybe_applied:
                    raise OutcomeUnknown(
                        f"an earlier attempt may have been applied; {exc}"
                    ) from exc
                raise
            if isinstance(outcome, Envelope):
                self._outage.answered()
                return outcome.data
            if isinstance(outcome, _Unauthorized):
                self._outage.answered()
                if renewed:
                    self._refused(operation, maybe_applied)
                try:
                    fresh = await self._tokens.renew(outcome.token)
                except StoreUnavailable as exc:
                    error = StoreUnavailable(f"not sent: {exc}")
                    wait_s = self._backoff.delay(attempt - 1)
                    retry = _Retry("token_endpoint_unavailable", wait_s, error, False)
                    continue
                if fresh is None:
                    self._refused(operation, maybe_applied)
                _log.info("shopify_token_renewed_after_401", operation=operation.name)
                renewed = True
                attempt -= 1  # the same bytes again at once, with the new token
                retry = None
                continue
            retry = outcome
            maybe_applied = maybe_applied or outcome.maybe_applied
        assert retry is not None
        _log.error(
            "shopify_request_failed",
            operation=operation.name,
            reason=retry.reason,
            attempts=self._max_attempts,
            outcome_unknown=operation.is_write and maybe_applied,
        )
        if isinstance(retry.error, RateLimited):
            self._outage.answered()  # throttled: Shopify is up, the pacing handles it
        else:
            self._outage.failed(operation.name, retry.reason, str(retry.error))
        if operation.is_write and maybe_applied:
            raise OutcomeUnknown(
                f"no definite answer after {self._max_attempts} attempts ({retry.error}); "
                "the same request is resent"
            ) from retry.error
        raise retry.error

    def _refused(self, operation: Operation, maybe_applied: bool) -> NoReturn:
        error = self._tokens.refused()
        self._raise_for_write(operation, maybe_applied, error)
        raise error

    @staticmethod
    def _raise_for_write(operation: Operation, maybe_applied: bool, error: StoreError) -> None:
        if operation.is_write and maybe_applied:
            raise OutcomeUnknown(f"an earlier attempt may have been applied; {error}") from error

    async def _pace(self, operation: Operation) -> None:
        wait_s = self._limiter.reserve(operation.estimated_cost)
        if wait_s > 0:
            _log.info(
                "shopify_request_paced",
                operation=operation.name,
                estimated_cost=operation.estimated_cost,
                wait_s=round(wait_s, 3),
            )
            if self._metrics is not None:
                self._metrics.shopify_waited(wait_s)
            await self._clock.sleep(wait_s)

    async def _attempt(
        self, operation: Operation, body: bytes, attempt: int
    ) -> Envelope | _Retry | _Unauthorized:
        try:
            token = await self._tokens.token()
        except StoreUnavailable as exc:
            error = StoreUnavailable(f"not sent: {exc}")
            wait_s = self._backoff.delay(attempt - 1)
            return _Retry("token_endpoint_unavailable", wait_s, error, maybe_applied=False)
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Shopify-Access-Token": token,
        }
        try:
            with translate_transport_errors(self._endpoint):
                response = await self._http.post(self._endpoint, content=body, headers=headers)
        except StoreUnavailable as exc:
            return _Retry(
                reason=type(exc.__cause__).__name__,
                wait_s=self._backoff.delay(attempt - 1),
                error=exc,
                maybe_applied=not never_sent(exc),
            )
        self.answered_version = response.headers.get("X-Shopify-API-Version")
        deprecated = response.headers.get("X-Shopify-API-Deprecated-Reason")
        if deprecated:
            _log.warning("shopify_deprecated_usage", operation=operation.name, reason=deprecated)
        if response.status_code == 401:
            return _Unauthorized(token)
        return self._classify(operation, response, attempt, token)

    def _classify(
        self, operation: Operation, response: httpx.Response, attempt: int, token: str
    ) -> Envelope | _Retry:
        status = response.status_code
        if status == 429:
            wait_s = retry_after_s(response.headers.get("Retry-After"), self._clock.now())
            error = RateLimited("Shopify throttled the request (HTTP 429)", retry_after_s=wait_s)
            return _Retry("http_429", wait_s, error, maybe_applied=False)
        if status >= 500:
            error_5xx = StoreUnavailable(f"Shopify answered HTTP {status}")
            return _Retry(f"http_{status}", self._backoff.delay(attempt - 1), error_5xx, True)
        if status != 200:
            raise StoreRejected(
                f"Shopify refused the request with HTTP {status}",
                status=status,
                body_excerpt=body_excerpt(response, token),
            )
        try:
            envelope = parse_envelope(response.content)
        except MalformedResponse as exc:
            error_bad = StoreUnavailable(f"unreadable answer from Shopify: {exc}")
            return _Retry("malformed_response", self._backoff.delay(attempt - 1), error_bad, True)
        self._limiter.observe(envelope.cost)
        cost = envelope.cost
        if self._metrics is not None and cost is not None and cost.actual_query_cost is not None:
            bucket = cost.throttle_status
            self._metrics.shopify_cost(
                cost.actual_query_cost, bucket.currently_available if bucket else None
            )
        return self._check_errors(operation, envelope, response, attempt, token)

    def _check_errors(
        self,
        operation: Operation,
        envelope: Envelope,
        response: httpx.Response,
        attempt: int,
        token: str,
    ) -> Envelope | _Retry:
        if not envelope.errors:
            return envelope
        codes = {error.code for error in envelope.errors}
        if _THROTTLED in codes:
            wait_s = self._limiter.throttled_wait(envelope.cost)
            error = RateLimited("Shopify throttled the request", retry_after_s=wait_s)
            return _Retry("throttled", wait_s, error, maybe_applied=False)
        if codes & _RETRYABLE_GRAPHQL_CODES:
            error_5xx = StoreUnavailable(
                f"Shopify reported an internal error: {envelope.errors[0].message}"
            )
            return _Retry(
                "graphql_internal_error", self._backoff.delay(attempt - 1), error_5xx, True
            )
        first = envelope.errors[0]
        raise StoreRejected(
            f"Shopify refused the query ({first.code}): {first.message}",
            status=response.status_code,
            body_excerpt=body_excerpt(response, token),
        )
