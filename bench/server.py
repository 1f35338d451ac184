"""``serve`` for the benchmarks: the same app and uvicorn configuration as
``shopify-sync serve``, plus one bare endpoint, ``POST /_bench/ok``, that answers 200 at
once. It exists only in this process, as the baseline of the webhook benchmark.

    python bench/server.py --port 8080   # settings from the environment, as serve
"""

from __future__ import annotations

import argparse
import os

import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shopify_sync import bootstrap
from shopify_sync.config import load_settings
from shopify_sync.entrypoints.web.app import create_app

BARE_PATH = "/_bench/ok"


async def bare(request: Request) -> Response:
    """The baseline: no body read, no signature, no database."""
    return Response(status_code=200)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    config = load_settings(os.environ)
    bootstrap.configure_logging(config.log_level)
    app = create_app(config)
    # Matched first, as the webhook routes are (entrypoints/web/webhooks.py): appended
    # after the app's routes it also paid for the scan past them (mostly the admin
    # router's matching), about 40 µs: a third of the bare request, and a head start the
    # webhooks did not earn.
    app.router.routes.insert(0, Route(BARE_PATH, bare, methods=["POST"]))
    # The same call as `shopify-sync serve` (entrypoints/cli.py).
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=config.log_level.lower(),
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
