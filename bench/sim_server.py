"""Run the local Shopify simulator for a benchmark: one process, no access log.

Usage: python bench/sim_server.py --port P --products N [--plan standard]
Prints ``ready`` on stdout once it serves. Its own CPU time is read by the benchmark
from ``/proc`` (see ``harness.cpu_s``), so nothing here needs to measure itself.
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from shopify_sync.simulator.app import create_app
from shopify_sync.simulator.config import SimulatorConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--products", type=int, default=0)
    parser.add_argument("--plan", default="standard")
    parser.add_argument("--access-token", default="shpat_bench")
    parser.add_argument("--webhook-secret", default="shpss_bench")
    args = parser.parse_args()
    config = SimulatorConfig(
        access_token=args.access_token,
        webhook_secret=args.webhook_secret,
        plan=args.plan,
        products=args.products,
        seed=7,
        warm_schemas=True,
    )
    app = create_app(config)
    print("built", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    sys.exit(0)


if __name__ == "__main__":
    main()
