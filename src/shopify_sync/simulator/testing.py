"""Run the simulator on a free local port in a background thread, for tests of any package.

with run_in_thread(SimulatorConfig(products=10)) as base_url:
    httpx.post(f"{base_url}/admin/api/2026-04/graphql.json", ...)
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette

from shopify_sync.simulator.app import create_app
from shopify_sync.simulator.clock import Clock
from shopify_sync.simulator.config import SimulatorConfig

START_TIMEOUT_S = 30.0


@contextlib.contextmanager
def run_app_in_thread(app: Starlette, *, wait_on_exit: bool = True) -> Iterator[str]:
    """Serve an already built app with uvicorn; yield its base URL; stop it on exit.

    Uvicorn needs about 0.2 s to shut down; with `wait_on_exit=False` the server finishes
    stopping in the background (its lifespan shutdown, e.g. saving state, may end later).

    Raises:
        RuntimeError: the server did not start within 30 s.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"simulator-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the simulator did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        if wait_on_exit:
            thread.join(timeout=10)
            sock.close()


@contextlib.contextmanager
def run_in_thread(config: SimulatorConfig, *, clock: Clock | None = None) -> Iterator[str]:
    """Build the simulator for `config` and serve it; yield its base URL."""
    with run_app_in_thread(create_app(config, clock)) as base_url:
        yield base_url
