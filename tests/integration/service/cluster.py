"""``serve`` as real processes (for shutdown and several-process tests), and a round-robin
load balancer in front of them."""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shopify_sync.simulator.testing import run_app_in_thread
from tests.integration.service.stack import service_env, wait_for

PASSED_ON = frozenset({"content-type", "www-authenticate"})


def serve_env(database_url: str, shopify: str, location: int, **extra: str) -> dict[str, str]:
    """The environment of a ``serve`` process on ``database_url`` and the simulator."""
    return {
        **os.environ,
        **service_env(database_url, shopify, location),
        "SHUTDOWN_GRACE_SECONDS": "10",
        "LOG_LEVEL": "INFO",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextlib.contextmanager
def serve_process(env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``shopify-sync serve`` as its own process; its URL once ready; killed if still up."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shopify_sync", "serve", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: ready(base), timeout_s=60, what=f"serve ready (log {log})")
            yield base, proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@contextlib.contextmanager
def load_balancer(backends: list[str]) -> Iterator[str]:
    """A round-robin proxy: each request goes to the next backend, as a load balancer would."""
    turn = itertools.cycle(backends)
    clients: list[httpx.AsyncClient] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=60) as client:
            clients.append(client)
            yield

    async def forward(request: Request) -> Response:
        client = clients[0]
        target = f"{next(turn)}{request.url.path}"
        if request.url.query:
            target += f"?{request.url.query}"
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        answer = await client.request(
            request.method, target, content=await request.body(), headers=headers
        )
        kept = {k: v for k, v in answer.headers.items() if k.lower() in PASSED_ON}
        return Response(answer.content, status_code=answer.status_code, headers=kept)

    app = Starlette(
        routes=[Route("/{path:path}", forward, methods=["GET", "POST"])], lifespan=lifespan
    )
    with run_app_in_thread(app) as url:
        yield url
