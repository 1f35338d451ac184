"""The whole exception tree of shopify-sync (pure: imports nothing).

::

    ShopifySyncError
      ConfigError            a setting is missing, malformed or a placeholder
      DomainError            a business rule refused the change
        UnknownProduct       no product with that id
        UnknownVariant       no Shopify variant with that id or SKU
        ProductNotSyncable   not linked to Shopify, or sync disabled
        LinkConflict         a link would be ambiguous or unsafe (shared SKU, variant taken)
        InvalidQuantity      a stock figure out of range
        InvalidRequest       an operator's request is malformed (e.g. a webhook address)
        WriteInFlight        a write to Shopify for the product still awaits its answer;
                             the change waited for it and gave up: try again shortly
      StoreError             the Shopify Admin API failed
        StoreUnavailable     timeout / 5xx / network; retryable
          OutcomeUnknown     the request was sent but no answer came; retry the same request
        RateLimited          throttled; carries retry_after_s; retryable
        StoreRejected        a 4xx or a top-level GraphQL error we caused; never resent as
                             is: a sync drops the write and retries the product with a
                             fresh merge (backoff), parking it after the last attempt
        StoreAuthFailed      Shopify refused our credentials; nothing sent; retried later
      WebhookRejected        bad signature or malformed payload
        WebhookUnauthorized  missing or wrong HMAC signature
        WebhookTooLarge      body over the size cap
      StorageError           the database failed or is unreachable
        StorageRejected      the database refused a value (a bad request, not an outage)
        WriteConflict        a batched write did not land as planned; rolled back, re-planned
      AlertDeliveryFailed    an alert could not be delivered (webhook receiver or e-mail)
"""

from __future__ import annotations


class ShopifySyncError(Exception):
    """Base class of every error shopify-sync raises on purpose."""


class ConfigError(ShopifySyncError):
    """Raised at start-up when settings are missing, malformed or placeholders.

    ``problems`` holds every ``(variable, what is wrong)``; ``variable`` and ``expected``
    are the first. The message is one line per problem.
    """

    def __init__(self, variable: str, expected: str, *more: tuple[str, str]) -> None:
        self.problems = ((variable, expected), *more)
        lines = [f"{name}: {text}" for name, text in self.problems]
        if more:
            lines = [f"{len(lines)} settings to fix:", *(f"  {line}" for line in lines)]
        super().__init__("\n".join(lines))
        self.variable = variable
        self.expected = expected


class DomainError(ShopifySyncError):
    """Raised when a business rule refuses a change."""


class UnknownProduct(DomainError):
    """Raised when no product has the given id."""

    def __init__(self, product_id: str) -> None:
        super().__init__(f"no product with id {product_id!r}")
        self.product_id = product_id


class ProductNotSyncable(DomainError):
    """Raised when a product is not linked to a Shopify variant or its sync is disabled."""

    def __init__(self, product_id: str, reason: str) -> None:
        super().__init__(f"product {product_id!r} cannot be synced: {reason}")
        self.product_id = product_id
        self.reason = reason


class UnknownVariant(DomainError):
    """Raised when Shopify has no variant with the given id or SKU."""

    def __init__(self, wanted: str) -> None:
        super().__init__(f"Shopify has no variant {wanted}")
        self.wanted = wanted


class LinkConflict(DomainError):
    """Raised when a link would be ambiguous or unsafe: several variants share the SKU,
    the variant is linked to another product, or Shopify does not track its inventory."""


class InvalidQuantity(DomainError):
    """Raised when a stock figure is out of the range Shopify and our columns accept."""


class InvalidRequest(DomainError):
    """Raised when an operator's request is malformed (e.g. a webhook address without https)."""


class WriteInFlight(DomainError):
    """Raised when a change must wait for a product's write to Shopify to be answered and
    the answer did not come in time (nothing was changed; try again shortly)."""

    def __init__(self, product_ids: list[str], waited_s: float) -> None:
        shown = ", ".join(product_ids[:5]) + (" ..." if len(product_ids) > 5 else "")
        super().__init__(
            f"a write to Shopify for {shown} is still waiting for its answer after "
            f"{waited_s:g} s: nothing was changed; try again in a minute"
        )
        self.product_ids = product_ids


class StoreError(ShopifySyncError):
    """Raised when the Shopify Admin API fails."""


class StoreUnavailable(StoreError):
    """Raised on a timeout, a 5xx or a network error; the call may be retried."""


class OutcomeUnknown(StoreUnavailable):
    """Raised when a write was sent but no definite answer came back.

    The write may or may not have been applied: retry exactly the same request
    with the same idempotency key until a definite answer arrives.
    """


class RateLimited(StoreError):
    """Raised when Shopify throttles us (HTTP 429 or GraphQL ``THROTTLED``); retryable."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StoreRejected(StoreError):
    """Raised when Shopify refuses a request we built (4xx, GraphQL error).

    The same request is never resent (nothing was applied, and it would be refused again);
    a sync drops the stored write and retries the product later with a fresh read and
    merge, with backoff, parking it after the last attempt.
    """

    def __init__(self, message: str, *, status: int | None = None, body_excerpt: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body_excerpt = body_excerpt


class StoreAuthFailed(StoreError):
    """Raised when Shopify refuses our credentials: a refused token exchange
    (``invalid_client``: wrong secret, app uninstalled) or a token answered 401.

    Nothing was sent, so a write in flight is kept and resent under its key later; the
    products record the error and retry with backoff, as for any Shopify failure.
    """

    def __init__(self, message: str, *, code: str = "unauthorized") -> None:
        super().__init__(message)
        self.code = code


class WebhookRejected(ShopifySyncError):
    """Raised when a webhook delivery is malformed (bad JSON, missing fields or headers)."""


class WebhookUnauthorized(WebhookRejected):
    """Raised when a webhook's HMAC signature is missing or does not match the body."""


class WebhookTooLarge(WebhookRejected):
    """Raised when a webhook body exceeds the size cap."""


class StorageError(ShopifySyncError):
    """Raised when the database fails or cannot be reached."""


class StorageRejected(StorageError):
    """Raised when the database refuses a value (out of range, too long, a constraint):
    the request that carried it was bad; the database itself is fine."""


class WriteConflict(StorageError):
    """Raised when a batched write did not land as planned (a row moved, an event was
    recorded by another process); the transaction was rolled back and may be retried."""


class AlertDeliveryFailed(ShopifySyncError):
    """Raised when an alert could not be delivered to one of its channels after retries;
    the message names the channel (never its secret URL or password)."""
