"""Adapter: the GraphQL response envelope and the parsing helpers every payload shares.

A body that does not have the shape our document asked for raises
:class:`MalformedResponse`; the client translates it into the project's errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError
from pydantic.alias_generators import to_camel

from shopify_sync.adapters.shopify.gid import GidKind, from_gid

FIRST_MATCH = Field(union_mode="left_to_right")
"""A node that is not of the fragment's type arrives as ``{}``: try the model first."""


class MalformedResponse(ValueError):
    """Shopify's answer does not have the shape our document asked for."""


class Model(BaseModel):
    """Base of every response model: camelCase aliases, unknown fields ignored."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=to_camel,
        validate_by_name=True,
        # Built on first use: a command pays only for the answers it reads.
        defer_build=True,
    )


class ThrottleStatus(Model):
    """The cost bucket as Shopify reports it after a call."""

    maximum_available: float
    currently_available: float
    restore_rate: float


class Cost(Model):
    """``extensions.cost`` of a response."""

    requested_query_cost: float | None = None
    actual_query_cost: float | None = None
    throttle_status: ThrottleStatus | None = None


class _Extensions(Model):
    cost: Cost | None = None


class _ErrorExtensions(Model):
    code: str | None = None


class GraphQLError(Model):
    """One entry of a response's top-level ``errors``."""

    message: str = ""
    extensions: _ErrorExtensions | None = None

    @property
    def code(self) -> str | None:
        """Shopify's machine-readable code (``THROTTLED``, ``MAX_COST_EXCEEDED``...), if any."""
        return self.extensions.code if self.extensions is not None else None


class Envelope(Model):
    """A GraphQL response before its ``data`` is parsed for one operation."""

    data: dict[str, JsonValue] | None = None
    errors: list[GraphQLError] = Field(default_factory=list)
    extensions: _Extensions | None = None

    @property
    def cost(self) -> Cost | None:
        """The cost report, when Shopify sent one."""
        return self.extensions.cost if self.extensions is not None else None


def parse_envelope(body: bytes) -> Envelope:
    """Parse a 200 answer's body."""
    try:
        return Envelope.model_validate_json(body)
    except ValidationError as exc:
        raise MalformedResponse(f"not a GraphQL response: {exc.error_count()} problems") from exc


M = TypeVar("M", bound=Model)


def parse_data(model: type[M], data: Mapping[str, JsonValue] | None) -> M:
    """Validate an operation's ``data`` into *model*."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MalformedResponse(f"unexpected {model.__name__}: {exc}") from exc


class PageInfo(Model):
    """A connection's ``pageInfo``."""

    has_next_page: bool = False
    end_cursor: str | None = None


class UserError(Model):
    """A plain ``userErrors`` entry (webhook and bulk mutations)."""

    field: list[str] | None = None
    message: str = ""
    code: str | None = None


def next_cursor(page_info: PageInfo) -> str | None:
    """The cursor of the next page, or None on the last one."""
    return page_info.end_cursor if page_info.has_next_page else None


def gid_number(kind: GidKind, gid: str) -> int:
    """The number of a GID of *kind*; a malformed id is a malformed response."""
    try:
        return from_gid(kind, gid)
    except ValueError as exc:
        raise MalformedResponse(str(exc)) from exc
