"""Entrypoint: ``shopify-sync doctor``: every set-up check, one line each, ``--json``.

Exit 0 when every check passes, 1 when any fails. It changes nothing: it does not migrate
the database (a database behind is one of the checks) and refuses no configuration it can
report on.
"""

from __future__ import annotations

import asyncio

import typer

from shopify_sync import bootstrap
from shopify_sync.config import Need
from shopify_sync.entrypoints.cli_output import JSON, failed, plain, print_json
from shopify_sync.services.doctor import DoctorReport

NEEDS = frozenset({Need.SHOPIFY, Need.DATABASE, Need.SYNC})


def doctor(
    address: str | None = typer.Option(
        None,
        "--address",
        help="The service's public base URL to check the webhooks against (default: PUBLIC_URL).",
    ),
    as_json: bool = JSON,
) -> None:
    """Check the set-up: credentials, API version, scopes, location, webhooks, database,
    linked items, products in error, last reconcile (exit 1 if any check fails)."""
    from shopify_sync.entrypoints.cli import settings

    config = settings(NEEDS if address is not None else NEEDS | {Need.ADDRESS})

    async def main() -> DoctorReport:
        # Not the other commands' runner: that one migrates or refuses a database it cannot
        # open, which is one of the checks here.
        bootstrap.configure_logging(config.log_level)
        container = await bootstrap.build(config, migrate=False)
        try:
            return await bootstrap.doctor_for(container, address).run()
        finally:
            await container.aclose()

    report = asyncio.run(main())
    if as_json:
        print_json({"ok": report.ok, "checks": [plain(check) for check in report.checks]})
    else:
        width = max(len(check.name) for check in report.checks)
        for check in report.checks:
            typer.echo(f"{check.name:<{width}}  {check.line()}")
    if not report.ok:
        raise failed()
