"""Entrypoint: ``/metrics`` for Prometheus, and the probes ``/livez`` and ``/readyz``.

``/livez`` answers while the process serves requests (restart it when it does not);
``/readyz`` also needs the database reachable and migrated to this version (route no
traffic to it otherwise). Both are cheap and open, like ``/health``.

A scrape needs the API token (``Authorization: Bearer``) or comes from one of
``METRICS_ALLOWED_NETWORKS``. It answers the process's own counters and the figures read
from the database (one cached query, ``StatesReader``); with the database down those are
marked unavailable (``shopify_sync_database_up 0``) and the scrape still answers 200.
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from shopify_sync.config import required
from shopify_sync.entrypoints.web.state import state_of


def scrape_allowed(request: Request) -> bool:
    """The API token, or a client address in ``METRICS_ALLOWED_NETWORKS``."""
    settings = state_of(request).container.settings
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = required(settings.sync_api_token, "SYNC_API_TOKEN").get_secret_value().encode()
    if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected):
        return True
    host = request.client.host if request.client else ""
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in settings.metrics_allowed_networks)


async def metrics(request: Request) -> Response:
    """Prometheus' text format: this process's counters and the database-derived figures."""
    c = state_of(request).container
    if c.metrics_page is None:
        return JSONResponse(
            {"error": "NotFound", "detail": "metrics are off (METRICS_ENABLED=false)"},
            status_code=404,
        )
    if not scrape_allowed(request):
        return JSONResponse(
            {
                "error": "Unauthorized",
                "detail": "send the API token as a bearer token, or scrape from a network "
                "listed in METRICS_ALLOWED_NETWORKS",
            },
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    states = await c.states.read()
    return Response(c.metrics_page.render(states), media_type=c.metrics_page.content_type)


async def livez(request: Request) -> JSONResponse:
    """The process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers and is migrated to this version; 503 with the reason."""
    problem = await state_of(request).container.ready()
    if problem is not None:
        return JSONResponse({"status": "unavailable", "detail": problem}, status_code=503)
    return JSONResponse({"status": "ok"})


def register(app: FastAPI) -> None:
    """Add the monitoring routes to ``app``."""
    for path, probe, summary in (
        ("/livez", livez, "Liveness: the process answers"),
        ("/readyz", readyz, "Readiness: database reachable and migrated (503 otherwise)"),
    ):
        app.add_api_route(
            path,
            probe,
            methods=["GET"],
            tags=["monitoring"],
            summary=summary,
            responses={503: {"description": "not ready: the reason in `detail`"}},
        )
    app.add_api_route(
        "/metrics",
        metrics,
        methods=["GET"],
        tags=["monitoring"],
        summary="Prometheus metrics",
        response_class=Response,
    )
