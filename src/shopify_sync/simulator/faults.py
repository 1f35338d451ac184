"""Fault injection for API calls: failing statuses, hangs, lost responses, added latency."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import orjson
from starlette.responses import Response

Mode = Literal["status", "timeout", "lose_response"]
Scope = Literal["all", "graphql", "rest"]

BODIES: dict[int, tuple[str, bytes]] = {
    429: (
        "application/json",
        b'{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to '
        b'resume uninterrupted service."}',
    ),
    401: (
        "application/json",
        b'{"errors":"[API] Invalid API key or access token (unrecognized login or wrong '
        b'password)"}',
    ),
    500: ("application/json", b'{"errors":"Internal Server Error"}'),
    502: ("text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    503: ("application/json", b'{"errors":"Unavailable Shop"}'),
    504: ("text/html", b"<html><body><h1>504 Gateway Time-out</h1></body></html>"),
}


@dataclass(slots=True)
class ApiFault:
    """Affect the next `remaining` matching API calls.

    Attributes:
        mode: `status` answers `status` without doing anything; `timeout` holds the request
            for `hang_s` and answers 504 without doing anything; `lose_response` does the
            work and then answers `status` (or hangs when `status` is 504) as if the answer
            was lost on the way back.
        scope: which API the fault applies to.
        match: only calls whose body (GraphQL) or path (REST) contains this text.
    """

    mode: Mode
    remaining: int = 1
    status: int = 503
    scope: Scope = "all"
    match: str | None = None

    def applies(self, scope: str, text: str) -> bool:
        return (
            self.remaining > 0
            and self.scope in ("all", scope)
            and (self.match is None or self.match in text)
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class ApiFaults:
    """The active API faults and the added latency."""

    def __init__(self) -> None:
        self.rules: list[ApiFault] = []
        self.latency_s = 0.0

    def take(self, scope: str, text: str) -> ApiFault | None:
        """The first fault that applies to this call (its count is used up by one)."""
        for rule in self.rules:
            if rule.applies(scope, text):
                rule.remaining -= 1
                return rule
        return None

    def clear(self) -> None:
        self.rules.clear()
        self.latency_s = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "api": [rule.as_json() for rule in self.rules if rule.remaining > 0],
            "latency_ms": round(self.latency_s * 1000),
        }


def failure_response(status: int) -> Response:
    """What a failing Shopify (or its load balancer) sends for this status."""
    media, body = BODIES.get(status, ("application/json", orjson.dumps({"errors": "Error"})))
    headers = {"Retry-After": "1.0"} if status == 429 else None
    return Response(body, status_code=status, media_type=media, headers=headers)
