"""`python -m shopify_sync.simulator`: the simulator command without the main CLI."""

from __future__ import annotations

from shopify_sync.simulator.cli import main

main()
