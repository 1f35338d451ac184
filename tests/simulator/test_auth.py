"""The simulator authenticates like Shopify: the client credentials grant, expiring tokens,
`invalid_client`, granted scopes and ACCESS_DENIED, and the static token of older apps."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import Any

import httpx

from shopify_sync.simulator import ManualClock
from shopify_sync.simulator.app import UNAUTHORIZED
from shopify_sync.simulator.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.simulator.harness import Shop

GRAPHQL = "/admin/api/2026-04/graphql.json"
SHOP_QUERY = {"query": "{ shop { name } }"}
LOCATIONS_QUERY = {"query": "{ locations(first: 5) { nodes { id } } }"}
SCOPES_QUERY = {"query": "{ currentAppInstallation { accessScopes { handle } } }"}


def _grant(
    shop: Shop, secret: str = DEFAULT_CLIENT_SECRET, *, form: bool = False
) -> httpx.Response:
    fields = {
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": secret,
        "grant_type": "client_credentials",
    }
    if form:
        return shop.http.post("/admin/oauth/access_token", data=fields)
    return shop.http.post("/admin/oauth/access_token", json=fields)


def _call(shop: Shop, token: str, body: dict[str, Any] = SHOP_QUERY) -> httpx.Response:
    return shop.http.post(GRAPHQL, json=body, headers={"X-Shopify-Access-Token": token})


def test_grant_issues_a_token_that_the_admin_api_accepts(shop: Shop) -> None:
    """A JSON grant answers a token, its scope and Shopify's default expires_in; it works."""
    answer = _grant(shop)
    body = answer.json()

    assert answer.status_code == 200
    assert body["expires_in"] == 86399
    assert (
        body["scope"] == "read_inventory,write_inventory,read_products,read_orders,write_products"
    )
    assert _call(shop, body["access_token"]).json()["data"]["shop"]["name"]


def test_form_encoded_grant_is_accepted(shop: Shop) -> None:
    """The form-encoded body of Shopify's documentation gets a token as the JSON body does."""
    answer = _grant(shop, form=True)

    assert answer.status_code == 200
    assert _call(shop, answer.json()["access_token"]).status_code == 200


def test_wrong_secret_is_invalid_client(shop: Shop) -> None:
    """A wrong client secret is refused with Shopify's invalid_client error and counted."""
    answer = _grant(shop, "shpss_wrong")

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client"
    assert shop.http.get("/_simulator/auth").json()["refusals"] == 1


def test_other_grant_types_are_refused(shop: Shop) -> None:
    """Only the client credentials grant is served."""
    answer = shop.http.post(
        "/admin/oauth/access_token", json={"grant_type": "refresh_token", "refresh_token": "x"}
    )

    assert (answer.status_code, answer.json()["error"]) == (400, "unsupported_grant_type")


def test_token_expires_with_the_clock(shop: Shop, clock: ManualClock) -> None:
    """A token is refused with Shopify's 401 body once its lifetime has passed."""
    token = _grant(shop).json()["access_token"]
    clock.advance(86398)
    before = _call(shop, token)
    clock.advance(2)
    after = _call(shop, token)

    assert before.status_code == 200
    assert (after.status_code, after.content) == (401, UNAUTHORIZED)


def test_lifetime_shortened_and_clock_advanced_by_the_control_api(shop: Shop) -> None:
    """The control API shortens the lifetime of new tokens; advancing its clock expires them."""
    shop.http.post("/_simulator/auth", json={"token_lifetime_s": 5})
    body = _grant(shop).json()
    shop.http.post("/_simulator/clock/advance", json={"seconds": 6})

    assert body["expires_in"] == 5
    assert _call(shop, body["access_token"]).status_code == 401


def test_unknown_token_is_refused_and_static_token_still_works(shop: Shop) -> None:
    """An unknown token gets 401; the static token of an admin-created app keeps working."""
    assert _call(shop, "shpat_unknown").status_code == 401
    assert shop.http.post(GRAPHQL, json=SHOP_QUERY).status_code == 200


def test_uninstalled_app_loses_its_tokens_and_cannot_get_new_ones(shop: Shop) -> None:
    """After an uninstall the issued token is refused and a grant is invalid_client."""
    token = _grant(shop).json()["access_token"]
    shop.http.post("/_simulator/auth", json={"installed": False})

    assert _call(shop, token).status_code == 401
    assert _grant(shop).json()["error"] == "invalid_client"


def test_expire_tokens_revokes_every_issued_token(shop: Shop) -> None:
    """`expire_tokens` ends every issued token at once; a new grant works again."""
    token = _grant(shop).json()["access_token"]
    state = shop.http.post("/_simulator/auth", json={"expire_tokens": True}).json()

    assert state["live_tokens"] == 0
    assert _call(shop, token).status_code == 401
    assert _call(shop, _grant(shop).json()["access_token"]).status_code == 200


def test_operation_outside_the_granted_scopes_is_access_denied(shop: Shop) -> None:
    """Without read_orders an orders query is refused with ACCESS_DENIED naming the scope."""
    shop.http.post("/_simulator/auth", json={"scopes": ["read_inventory"]})
    body = shop.gql("{ orders(first: 1) { nodes { id } } }")

    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert "`read_orders`" in body["errors"][0]["message"]
    assert "data" not in body


def test_write_scope_allows_the_read(shop: Shop) -> None:
    """write_inventory alone allows reading locations and inventory, as Shopify's does."""
    shop.http.post("/_simulator/auth", json={"scopes": ["write_inventory"]})

    assert "errors" not in shop.gql(LOCATIONS_QUERY["query"])


def test_granted_scopes_are_read_back(shop: Shop) -> None:
    """currentAppInstallation lists the scopes the app was granted."""
    shop.http.post("/_simulator/auth", json={"scopes": ["read_products", "read_orders"]})
    body = shop.gql(SCOPES_QUERY["query"])

    handles = [s["handle"] for s in body["data"]["currentAppInstallation"]["accessScopes"]]
    assert handles == ["read_products", "read_orders"]


def test_control_api_refuses_bad_values(shop: Shop) -> None:
    """A zero lifetime or scopes that are not a list are refused with 400."""
    assert shop.http.post("/_simulator/auth", json={"token_lifetime_s": 0}).status_code == 400
    assert shop.http.post("/_simulator/auth", json={"scopes": "read_orders"}).status_code == 400


def test_auth_state_shows_no_secret(shop: Shop) -> None:
    """The control API's auth state names the client id, never the secret or a token."""
    token = _grant(shop).json()["access_token"]
    text = shop.http.get("/_simulator/auth").text

    assert DEFAULT_CLIENT_ID in text
    assert DEFAULT_CLIENT_SECRET not in text
    assert token not in text


def test_cli_prints_the_default_app_credentials() -> None:
    """The simulator command, run as a process, prints its default client id and secret."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "shopify_sync.simulator", "--port", str(port)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        process.terminate()

    app_line = next(line for line in lines if line.startswith("App:"))
    assert f"SHOPIFY_CLIENT_ID={DEFAULT_CLIENT_ID}" in app_line
    assert f"SHOPIFY_CLIENT_SECRET={DEFAULT_CLIENT_SECRET}" in app_line
    assert "tokens live 86399 s" in app_line


def test_unreadable_grant_bodies_are_invalid_requests(shop: Shop) -> None:
    """A body that is not JSON, or JSON that is not an object, is an invalid_request."""
    for body in (b"not json", b"[1, 2]"):
        answer = shop.http.post(
            "/admin/oauth/access_token",
            content=body,
            headers={"Content-Type": "application/json"},
        )

        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
