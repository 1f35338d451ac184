"""Fixtures: a simulator on a free port with a manual clock, and a webhook sink."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shopify_sync.simulator import ManualClock
from shopify_sync.simulator.testing import run_app_in_thread
from tests.simulator.harness import Received, Shop, Sink, make_config, start_shop


@pytest.fixture(name="clock")
def _clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(name="shop")
def _shop(clock: ManualClock) -> Iterator[Shop]:
    yield from start_shop(make_config(), clock)


@pytest.fixture(name="sink")
def _sink() -> Iterator[Sink]:
    received: list[Received] = []
    statuses: list[int] = []
    holder: dict[str, Sink] = {}

    async def record(request: Request) -> Response:
        received.append(Received(request.url.path, dict(request.headers), await request.body()))
        if holder["sink"].delay_s:
            await asyncio.sleep(holder["sink"].delay_s)
        status = statuses.pop(0) if statuses else 200
        return Response(b"", status_code=status)

    app = Starlette(routes=[Route("/{path:path}", record, methods=["POST"])])
    with run_app_in_thread(app, wait_on_exit=False) as base_url:
        holder["sink"] = Sink(f"{base_url}/webhooks", received, statuses)
        yield holder["sink"]
