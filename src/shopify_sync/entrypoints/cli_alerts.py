"""Entrypoint: ``shopify-sync alerts ...``: try the alert channels."""

from __future__ import annotations

import typer

from shopify_sync.bootstrap import Container
from shopify_sync.config import Need
from shopify_sync.entrypoints.cli_output import bad_input, run, stdout_console
from shopify_sync.services import alerts

alerts_app = typer.Typer(help="Alerts: where they go, and a test message.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``alerts`` to the ``shopify-sync`` app."""
    app.add_typer(alerts_app, name="alerts")


@alerts_app.command("test")
def alerts_test() -> None:
    """Send a test message to ALERT_WEBHOOK_URL and the ALERT_EMAIL_TO addresses (exit 1 if
    one fails, 2 if none is configured)."""

    async def work(c: Container) -> tuple[str, ...]:
        if c.alerts is None:
            raise bad_input_error()
        return await alerts.send_test(c.alerts, c.clock)

    def show(channels: tuple[str, ...]) -> None:
        for channel in channels:
            stdout_console().print(f"test alert sent: {channel}")

    run(work, show, needs={Need.ALERTS})


def bad_input_error() -> typer.Exit:
    """No channel: say what to set, exit 2."""
    typer.echo(
        "no alert channel configured: set ALERT_WEBHOOK_URL, or ALERT_EMAIL_TO with SMTP_HOST "
        "and ALERT_EMAIL_FROM",
        err=True,
    )
    return bad_input()
