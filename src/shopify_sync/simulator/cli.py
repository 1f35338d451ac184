"""`shopify-sync simulator`: run the local Shopify Admin API with uvicorn.

Registered by the main CLI as `app.command("simulator")(simulator)`. It reads the shop, the
app's credentials, the webhook secret and the API version from the same place as the
service: an option given on the command line, else the environment, else `.env` in the
working directory, else the simulator's made-up defaults. So a token put in `.env` for
shopify-sync is the token the simulator accepts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer
from dotenv import dotenv_values

from shopify_sync.simulator.config import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SCOPES,
    DEFAULT_TOKEN_LIFETIME_S,
    PLAN_LIMITS,
    SUPPORTED_VERSIONS,
    SimulatorConfig,
)

ENV_FILE = Path(".env")
DEFAULT_SHOP = "demo.myshopify.com"


def simulator(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8081,
    shop: Annotated[
        str | None,
        typer.Option(
            envvar="SHOPIFY_STORE_DOMAIN",
            help=f"The myshopify domain to simulate [default: {DEFAULT_SHOP}].",
        ),
    ] = None,
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
        str | None,
        typer.Option(
            envvar="SHOPIFY_ACCESS_TOKEN",
            help=f"Token clients must send [default: {DEFAULT_ACCESS_TOKEN}].",
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(
            envvar="SHOPIFY_CLIENT_ID",
            help=f"Client ID of the app (client credentials grant) [default: {DEFAULT_CLIENT_ID}].",
        ),
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            envvar="SHOPIFY_CLIENT_SECRET",
            help="Client secret of the app; also the webhook HMAC key unless --webhook-secret.",
        ),
    ] = None,
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
    api_version: Annotated[
        str | None,
        typer.Option(
            envvar="SHOPIFY_API_VERSION",
            help=f"The version shown in the banner [default: {SUPPORTED_VERSIONS[-1]}]; "
            "every supported version is served.",
        ),
    ] = None,
) -> None:
    """Run a local Shopify Admin API (GraphQL, legacy REST, webhooks) for tests and demos.

    The shop, credentials, webhook secret and API version come from the options, else the
    environment, else .env in this folder (as for shopify-sync), else the defaults.
    """
    # Imported here, not at the top: every other command of the CLI would pay for them.
    import uvicorn

    from shopify_sync.simulator.app import create_app

    if plan not in PLAN_LIMITS:
        choices = ", ".join(PLAN_LIMITS)
        raise typer.BadParameter(f"plan must be one of {choices}", param_hint="--plan")
    dotenv = _env_file(ENV_FILE)
    shop = _pick(shop, dotenv, "SHOPIFY_STORE_DOMAIN", DEFAULT_SHOP)
    access_token = _pick(access_token, dotenv, "SHOPIFY_ACCESS_TOKEN", DEFAULT_ACCESS_TOKEN)
    client_id = _pick(client_id, dotenv, "SHOPIFY_CLIENT_ID", DEFAULT_CLIENT_ID)
    client_secret = _pick(client_secret, dotenv, "SHOPIFY_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    webhook_secret = webhook_secret or dotenv.get("SHOPIFY_WEBHOOK_SECRET") or None
    version = _pick(api_version, dotenv, "SHOPIFY_API_VERSION", SUPPORTED_VERSIONS[-1])
    if version not in SUPPORTED_VERSIONS:
        raise typer.BadParameter(
            f"{version} is not served; one of {', '.join(SUPPORTED_VERSIONS)}",
            param_hint="--api-version / SHOPIFY_API_VERSION",
        )
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
    typer.echo(f"GraphQL: POST http://{host}:{port}/admin/api/{version}/graphql.json")
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


def _env_file(path: Path) -> dict[str, str]:
    """The non-empty values of ``path`` (a ``.env`` file), or nothing when there is none."""
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value}


def _pick(given: str | None, dotenv: Mapping[str, str], name: str, default: str) -> str:
    """The option or environment value, else ``.env``'s, else the default; blanks are unset."""
    if given is not None and given.strip():
        return given
    return dotenv.get(name) or default


def main() -> None:
    """Run the command on its own (`python -m shopify_sync.simulator`)."""
    typer.run(simulator)
