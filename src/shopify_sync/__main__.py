"""``python -m shopify_sync``: the command line."""

from __future__ import annotations

from shopify_sync.entrypoints.cli import main

main()
