"""`shopify-sync simulator`: run the local Shopify Admin API with uvicorn.

Registered by the main CLI as `app.command("simulator")(simulator)`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from shopify_sync.simulator.config import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SCOPES,
    DEFAULT_TOKEN_LIFETIME_S,
    PLAN_LIMITS,
    SimulatorConfig,
)


def simulator(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8081,
    shop: Annotated[str, typer.Option(help="The myshopify domain to simulate.")] = (
        "demo.myshopify.com"
    ),
    plan: Annotated[
        str, typer.Option(help="Rate-limit plan: standard, advanced, plus or enterprise.")
    ] = "standard",
    products: Annotated[int, typer.Option(help="Generate N products, one variant each.")] = 0,
    locations: Annotated[int, typer.Option(help="Number of generated locations.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the random initial quantities.")] = 1,
    seed_file: Annotated[
        Path | None, typer.Option(help="Catalogue JSON to load at start.", exists=True)
    ] = None,
    state_file: Annotated[
        Path | None,
        typer.Option(help="State JSON: loaded at start if it exists, written at shutdown."),
    ] = None,
    access_token: Annotated[
        str, typer.Option(envvar="SHOPIFY_ACCESS_TOKEN", help="Token clients must send.")
    ] = DEFAULT_ACCESS_TOKEN,
    client_id: Annotated[
        str,
        typer.Option(
            envvar="SHOPIFY_CLIENT_ID", help="Client ID of the app (client credentials grant)."
        ),
    ] = DEFAULT_CLIENT_ID,
    client_secret: Annotated[
        str,
        typer.Option(
            envvar="SHOPIFY_CLIENT_SECRET",
            help="Client secret of the app; also the webhook HMAC key unless --webhook-secret.",
        ),
    ] = DEFAULT_CLIENT_SECRET,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            envvar="SHOPIFY_WEBHOOK_SECRET",
            help="Key of the webhook HMAC (default: the client secret).",
        ),
    ] = None,
    token_lifetime: Annotated[
        int, typer.Option(min=1, help="Seconds a client credentials token lives.")
    ] = DEFAULT_TOKEN_LIFETIME_S,
    scopes: Annotated[
        str, typer.Option(help="Access scopes granted to the app, comma-separated.")
    ] = ",".join(DEFAULT_SCOPES),
    webhook_retry_scale: Annotated[
        float, typer.Option(help="Multiplies webhook retry delays (0.001: 4 h -> 14.4 s).")
    ] = 1.0,
    timezone: Annotated[str, typer.Option(help="The shop's IANA time zone.")] = (
        "America/New_York"
    ),
) -> None:
    """Run a local Shopify Admin API (GraphQL, legacy REST, webhooks) for tests and demos."""
    # Imported here, not at the top: every other command of the CLI would pay for them.
    import uvicorn

    from shopify_sync.simulator.app import create_app

    if plan not in PLAN_LIMITS:
        choices = ", ".join(PLAN_LIMITS)
        raise typer.BadParameter(f"plan must be one of {choices}", param_hint="--plan")
    started = time.monotonic()
    config = SimulatorConfig(
        shop=shop,
        access_token=access_token,
        webhook_secret=webhook_secret or client_secret,
        client_id=client_id,
        client_secret=client_secret,
        token_lifetime_s=token_lifetime,
        scopes=tuple(s.strip() for s in scopes.split(",") if s.strip()),
        plan=plan,  # type: ignore[arg-type]  # checked against PLAN_LIMITS above
        products=products,
        locations=locations,
        seed=seed,
        seed_file=seed_file,
        state_file=state_file,
        webhook_retry_scale=webhook_retry_scale,
        timezone=timezone,
        warm_schemas=True,
    )
    app = create_app(config)
    typer.echo(
        f"Simulating {shop} ({plan}) with {products} generated products "
        f"in {time.monotonic() - started:.1f} s; listening on http://{host}:{port}"
    )
    typer.echo(f"GraphQL: POST http://{host}:{port}/admin/api/2026-04/graphql.json")
    typer.echo(f"Control: http://{host}:{port}/_simulator/state")
    # The defaults are made up and printed so that a user can configure shopify-sync with
    # them; a secret given on the command line or in the environment is not echoed.
    shown_secret = client_secret if client_secret == DEFAULT_CLIENT_SECRET else "(as given)"
    shown_token = access_token if access_token == DEFAULT_ACCESS_TOKEN else "(as given)"
    typer.echo(
        f"App: SHOPIFY_CLIENT_ID={client_id} SHOPIFY_CLIENT_SECRET={shown_secret} "
        f"(tokens live {token_lifetime} s; scopes {scopes}); "
        f"or the static SHOPIFY_ACCESS_TOKEN={shown_token}"
    )
    uvicorn.run(app, host=host, port=port, log_level="info")


def main() -> None:
    """Run the command on its own (`python -m shopify_sync.simulator`)."""
    typer.run(simulator)
