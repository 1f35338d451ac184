"""The ASGI app: Shopify's URL layout, token grant and check, versions, REST bucket, faults."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from shopify_sync.simulator import control, rest
from shopify_sync.simulator.clock import Clock, SystemClock
from shopify_sync.simulator.config import SimulatorConfig
from shopify_sync.simulator.faults import failure_response
from shopify_sync.simulator.gql.endpoint import run_graphql
from shopify_sync.simulator.gql.engine import SCHEMAS
from shopify_sync.simulator.sim import Simulator
from shopify_sync.simulator.versions import resolve_version

UNAUTHORIZED = (
    b'{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}'
)
Work = Callable[[Request, Simulator, str], Awaitable[Response]]


def _simulator(request: Request) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


def _finish(response: Response, version: str | None) -> Response:
    response.headers["X-Request-Id"] = str(uuid.uuid4())
    if version is not None:
        response.headers["X-Shopify-API-Version"] = version
    return response


async def api_call(request: Request, scope: str, work: Work) -> Response:
    """Everything an Admin API request goes through before and after its handler."""
    sim = _simulator(request)
    host = (request.headers.get("host") or "").split(":")[0].lower()
    if host.endswith(".myshopify.com") and host != sim.config.shop:
        return _finish(rest.not_found(), None)
    version = resolve_version(request.path_params["version"])
    if version is None:
        return _finish(rest.not_found(), None)
    if not sim.auth.valid(request.headers.get("x-shopify-access-token")):
        return _finish(Response(UNAUTHORIZED, 401, media_type="application/json"), version)
    text = (
        (await request.body()).decode("utf-8", "replace")
        if scope == "graphql"
        else request.url.path
    )
    fault = sim.faults.take(scope, text)
    if fault is not None and fault.mode == "status":
        return _finish(failure_response(fault.status), version)
    if fault is not None and fault.mode == "timeout":
        await asyncio.sleep(sim.config.hang_s)
        return _finish(failure_response(504), version)
    if scope == "rest":
        limited = _rest_limit(sim)
        if limited is not None:
            return _finish(limited, version)
        if sim.faults.latency_s:
            await asyncio.sleep(sim.faults.latency_s)
    response = await work(request, sim, version)
    if scope == "rest":
        response.headers["X-Shopify-Shop-Api-Call-Limit"] = _call_limit(sim)
    if fault is not None and fault.mode == "lose_response":
        # The work is done; only the answer goes missing, as when a gateway drops it.
        if fault.status == 504:
            await asyncio.sleep(sim.config.hang_s)
        return _finish(failure_response(fault.status), version)
    return _finish(response, version)


def _call_limit(sim: Simulator) -> str:
    bucket = sim.rest_bucket
    used = round(bucket.capacity - bucket.available())
    return f"{used}/{int(bucket.capacity)}"


def _rest_limit(sim: Simulator) -> Response | None:
    bucket = sim.rest_bucket
    if bucket.try_take(1.0):
        return None
    retry_after = max(bucket.seconds_until(1.0), 0.1)
    response = failure_response(429)
    response.headers["Retry-After"] = f"{retry_after:.1f}"
    response.headers["X-Shopify-Shop-Api-Call-Limit"] = _call_limit(sim)
    return response


async def _graphql(request: Request, sim: Simulator, version: str) -> Response:
    reply = await run_graphql(
        sim,
        version,
        await request.body(),
        request.headers.get("content-type", "application/json"),
        str(request.base_url).rstrip("/"),
    )
    response = rest.json_response(reply.body, reply.status)
    response.headers.update(reply.headers)
    return response


def _api_route(path: str, methods: list[str], scope: str, work: Work) -> Route:
    async def endpoint(request: Request) -> Response:
        return await api_call(request, scope, work)

    return Route(f"/admin/api/{{version}}{path}", endpoint, methods=methods)


async def _access_token(request: Request) -> Response:
    """`POST /admin/oauth/access_token`: the client credentials grant."""
    sim = _simulator(request)
    host = (request.headers.get("host") or "").split(":")[0].lower()
    if host.endswith(".myshopify.com") and host != sim.config.shop:
        return _finish(rest.not_found(), None)
    grant = sim.auth.grant(request.headers.get("content-type", ""), await request.body())
    return _finish(rest.json_response(grant.body, grant.status), None)


async def _not_found(request: Request) -> Response:
    return _finish(rest.not_found(), None)


def routes() -> list[BaseRoute]:
    found: list[BaseRoute] = [_api_route("/graphql.json", ["POST"], "graphql", _graphql)]
    found.append(Route("/admin/oauth/access_token", _access_token, methods=["POST"]))
    found += [_api_route(path, methods, "rest", work) for path, methods, work in rest.ROUTES]
    found.append(Mount("/_simulator", routes=list(control.ROUTES)))
    found.append(Route("/{path:path}", _not_found, methods=["GET", "POST", "PUT", "DELETE"]))
    return found


def create_app(config: SimulatorConfig, clock: Clock | None = None) -> Starlette:
    """Build the simulator app; state is created now, the webhook sender in the lifespan.

    Args:
        config: what to simulate.
        clock: the time source; tests pass a `ManualClock`.
    """
    sim = Simulator(config, clock or SystemClock())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if config.warm_schemas:
            threading.Thread(target=SCHEMAS.warm, name="schema-warmup", daemon=True).start()
        await sim.start()
        try:
            yield
        finally:
            await sim.stop()

    app = Starlette(routes=routes(), lifespan=lifespan)
    app.state.sim = sim
    return app
