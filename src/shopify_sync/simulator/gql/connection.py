"""Relay connections with Shopify's cursor pagination, and the small search syntax of `query:`."""

from __future__ import annotations

import base64
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLResolveInfo

MAX_PAGE = 250


def encode_cursor(key: int) -> str:
    """An opaque cursor like Shopify's (base64 of a small JSON object)."""
    raw = orjson.dumps({"last_id": key, "last_value": str(key)})
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Return the key inside a cursor.

    Raises:
        GraphQLError: the cursor was not made by `encode_cursor`.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded))["last_id"]
        if isinstance(value, int):
            return value
    except (ValueError, KeyError, TypeError):
        pass
    raise GraphQLError(f"Invalid cursor: {cursor}")


def connection(
    info: GraphQLResolveInfo,
    keys: Sequence[int],
    fetch: Callable[[int], Any],
    args: dict[str, Any],
) -> dict[str, Any]:
    """Page through ascending `keys` with first/after/last/before/reverse.

    In a bulk operation page sizes are ignored: the root connection yields the bulk runner's
    current window of keys and nested connections yield everything.
    """
    window = getattr(info.context, "bulk_window", None)
    if window is not None:
        if _outermost(info):
            selected = list(keys[window[0] : window[1]])
            info.context.bulk_seen = max(info.context.bulk_seen, len(selected))
        else:
            selected = list(keys)
        return _page(selected, fetch, has_next=False, has_previous=False)
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value > MAX_PAGE:
            raise GraphQLError(f"The {name} argument cannot exceed {MAX_PAGE}.")
        if value is not None and value < 0:
            raise GraphQLError(f"The {name} argument must be a non-negative integer.")
    reverse = bool(args.get("reverse"))
    after, before = args.get("after"), args.get("before")
    lo, hi = 0, len(keys)
    if after is not None:
        key = decode_cursor(after)
        if reverse:
            hi = bisect_left(keys, key)
        else:
            lo = bisect_right(keys, key)
    if before is not None:
        key = decode_cursor(before)
        if reverse:
            lo = max(lo, bisect_right(keys, key))
        else:
            hi = min(hi, bisect_left(keys, key))
    hi = max(lo, hi)
    has_before = lo > 0 if not reverse else hi < len(keys)
    has_after = hi < len(keys) if not reverse else lo > 0
    if not reverse:
        if first is not None:
            chosen = list(keys[lo : min(hi, lo + first)])
            has_after = has_after or hi - lo > first
        else:
            chosen = list(keys[lo:hi])
        if last is not None and len(chosen) > last:
            has_before = True
            chosen = chosen[len(chosen) - last :]
    else:
        if first is not None:
            chosen = list(keys[max(lo, hi - first) : hi])[::-1]
            has_after = has_after or hi - lo > first
        else:
            chosen = list(keys[lo:hi])[::-1]
        if last is not None and len(chosen) > last:
            has_before = True
            chosen = chosen[len(chosen) - last :]
    return _page(chosen, fetch, has_next=has_after, has_previous=has_before)


def _outermost(info: GraphQLResolveInfo) -> bool:
    """Whether no connection encloses this field (its path has no edges/nodes above it)."""
    path = info.path.prev
    while path is not None:
        if path.key in ("edges", "nodes"):
            return False
        path = path.prev
    return True


def _page(
    keys: Sequence[int], fetch: Callable[[int], Any], *, has_next: bool, has_previous: bool
) -> dict[str, Any]:
    nodes = [fetch(key) for key in keys]
    cursors = [encode_cursor(key) for key in keys]
    return {
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


@dataclass(frozen=True, slots=True)
class Term:
    """One `field:value` (or bare text) condition of a search query."""

    field: str | None
    op: str
    value: str


_TOKEN = re.compile(
    r"""(?P<field>[A-Za-z_]+):(?P<op><=|>=|<|>)?(?P<value>"[^"]*"|'[^']*'|\S+)|(?P<bare>"[^"]*"|\S+)"""
)


def parse_search(query: str | None) -> list[list[Term]]:
    """Parse Shopify's search syntax into OR-groups of AND-ed terms (`AND` is implicit)."""
    if not query or not query.strip():
        return []
    groups: list[list[Term]] = [[]]
    for match in _TOKEN.finditer(query):
        bare = match.group("bare")
        if bare == "OR":
            groups.append([])
            continue
        if bare == "AND":
            continue
        if bare is not None:
            groups[-1].append(Term(None, ":", bare.strip("\"'")))
        else:
            value = match.group("value").strip("\"'")
            groups[-1].append(Term(match.group("field").lower(), match.group("op") or ":", value))
    return [group for group in groups if group]


def term_matches(term: Term, actual: Any) -> bool:
    """Compare one term with a record's value (strings case-insensitive, `*` suffix = prefix)."""
    if actual is None:
        return False
    if isinstance(actual, int) and not isinstance(actual, bool):
        try:
            wanted: Any = int(term.value)
        except ValueError:
            return False
    else:
        actual = str(actual).lower()
        wanted = term.value.lower()
        if term.op == ":" and wanted.endswith("*"):
            return bool(actual.startswith(wanted[:-1]))
    if term.op == ":":
        return bool(actual == wanted)
    if term.op == ">":
        return bool(actual > wanted)
    if term.op == ">=":
        return bool(actual >= wanted)
    if term.op == "<":
        return bool(actual < wanted)
    return bool(actual <= wanted)
