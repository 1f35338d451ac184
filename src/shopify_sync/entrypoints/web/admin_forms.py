"""The admin page's inputs: every query parameter and form field, parsed into a typed,
bounded value before a route uses it.

A route calls ``parse(Model, values)``; a missing or malformed value raises ``BadInput``
with one line naming the field and what it takes, which the route shows on its page again
(400) instead of failing. Unknown names are ignored: a browser adds its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from shopify_sync.types import MAX_QUANTITY, MAX_SHOPIFY_ID

FILTERS = ("all", "linked", "unlinked", "errors", "disabled", "parked")
POLICY_FILTERS = ("any", "split", "shared")
MAX_TEXT = 200
"""Longest search text, cursor or product id taken from a request."""
MAX_NEXT = 2000
"""Longest ``next`` address kept across a sign-in."""
MAX_PASSWORD = 1000


class BadInput(Exception):
    """Raised when a query parameter or form field is missing or malformed; the message
    names the field and what it takes."""


def _printable(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters")
    return value


def _number(value: Any) -> Any:
    """Form text as a number: blank is None, thousands separators are allowed, and only
    ASCII digits count (``int()`` would take any script's, and thousands of them)."""
    if not isinstance(value, str):
        return value
    text = value.strip().replace(",", "").replace("_", "")
    if not text:
        return None
    digits = text.removeprefix("-").removeprefix("+")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        raise ValueError(f"{value[:30]!r} is not a whole number")
    return int(text)


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("", "0", "false", "off", "no"):
            return False
        if text in ("1", "true", "on", "yes"):
            return True
        raise ValueError(f"{value[:30]!r} is not yes or no")
    return value


Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_printable)]
ProductIdText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(_printable)]
# The bounds apply to the number; blank (None) is checked as such, not against them.
Quantity = Annotated[Annotated[int, Field(ge=0, le=MAX_QUANTITY)] | None, BeforeValidator(_number)]
ShopifyId = Annotated[int, BeforeValidator(_number), Field(ge=1, le=MAX_SHOPIFY_ID)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Next = Annotated[str, Field(max_length=MAX_NEXT), AfterValidator(_printable)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)


class DashboardQuery(_Input):
    """``GET /admin``: the charts' window."""

    window: Literal["24h", "7d"] = "24h"


class ProductsQuery(_Input):
    """``GET /admin/products``."""

    filter: Literal["all", "linked", "unlinked", "errors", "disabled", "parked"] = "all"
    policy: Literal["any", "split", "shared"] = "any"
    q: Text = ""
    after: ProductIdText | None = None


class ProductQuery(_Input):
    """``GET /admin/products/{id}``: the variant search."""

    variant_q: Text = ""


class LogQuery(_Input):
    """``GET /admin/log``."""

    product: ProductIdText | None = None
    before: ShopifyId | None = None


class ReconcileQuery(_Input):
    """``GET /admin/reconcile``."""

    preview: Flag = False


class LoginQuery(_Input):
    """``GET /admin/login``."""

    next: Next = "/admin"


class LoginForm(_Input):
    """``POST /admin/login``."""

    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD)]
    next: Next = ""
    tz: Text = ""


class ZoneForm(_Input):
    """``POST /admin/zone``."""

    tz: Text = ""
    next: Next = ""


class LinkForm(_Input):
    """``POST /admin/products/{id}/link``."""

    variant_id: ShopifyId


class AllocateForm(_Input):
    """``POST /admin/products/{id}/allocate``: new stocks, or units to move."""

    b2c: Quantity = None
    b2b: Quantity = None
    move: Quantity = None
    to: Literal["b2b", "b2c"] | None = None


class AllocationForm(_Input):
    """``POST /admin/products/{id}/allocation``: the allocation policy, buffer and cap.

    No policy, a blank buffer or a blank cap keeps that value as it is; ticking ``no_cap``
    removes the cap (with a cap in its box too, the route refuses both).
    """

    policy: Literal["split", "shared"] | None = None
    buffer: Quantity = None
    cap: Quantity = None
    no_cap: Flag = False


class RetryForm(_Input):
    """``POST /admin/errors/retry``: every product in error, or the ticked ones."""

    scope: Literal["errors", "selected"] = "selected"


MAX_TICKED = 1000
"""Most products one retry form may tick."""


def ticked(values: Sequence[str]) -> tuple[str, ...]:
    """The ticked product ids of a form.

    Raises:
        BadInput: over MAX_TICKED of them, or one that no product can have.
    """
    if len(values) > MAX_TICKED:
        raise BadInput(f"product_id: at most {MAX_TICKED:,} products at once, not {len(values):,}")
    return tuple(product_id(v) for v in values)


class Empty(_Input):
    """A form with nothing but its CSRF token."""


M = TypeVar("M", bound=_Input)


def parse(model: type[M], values: Mapping[str, str]) -> M:
    """``values`` (query or form) as ``model``.

    Raises:
        BadInput: a field is missing or malformed; says which and what it takes.
    """
    data: dict[str, Any] = {name: values[name] for name in model.model_fields if name in values}
    for name in ("to", "policy"):  # a select left on its blank choice
        if model in (AllocateForm, AllocationForm) and data.get(name, "x").strip() == "":
            data.pop(name)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "form"
        reason = "is required" if first["type"] == "missing" else first["msg"]
        raise BadInput(f"{field}: {reason.removeprefix('Value error, ')}") from None


def product_id(value: str) -> str:
    """A product id from the address.

    Raises:
        BadInput: empty, longer than MAX_TEXT or with control characters.
    """
    if not 0 < len(value) <= MAX_TEXT or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise BadInput(
            f"product id: 1 to {MAX_TEXT} characters without control characters, not {value[:40]!r}"
        )
    return value
