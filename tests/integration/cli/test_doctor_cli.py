"""`shopify-sync doctor` as a process against the simulator: every line ok with either kind of
credentials once set up, one failing line per problem with what to do, exit 1, --json."""

from __future__ import annotations

from shopify_sync.simulator.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.integration.cli.conftest import Shop

ADDRESS = "http://127.0.0.1:9"


def _set_up(shop: Shop) -> None:
    """Webhooks registered and one reconcile done, as the README's steps leave a store."""
    assert shop.cli("webhooks", "register", "--address", ADDRESS).code == 0
    assert shop.cli("sync", "--all").code == 0


def _app(shop: Shop, secret: str = DEFAULT_CLIENT_SECRET) -> None:
    """Switch the command line to the Dev Dashboard app's client credentials."""
    del shop.env["SHOPIFY_ACCESS_TOKEN"]
    shop.env |= {"SHOPIFY_CLIENT_ID": DEFAULT_CLIENT_ID, "SHOPIFY_CLIENT_SECRET": secret}


def test_a_set_up_store_passes_every_check_with_the_static_token(shop: Shop) -> None:
    """After the set-up steps every check prints ok and the exit code is 0."""
    _set_up(shop)

    result = shop.cli("doctor", "--address", ADDRESS)

    assert result.code == 0, result.out + result.err
    assert len(result.out.splitlines()) == 9
    assert all(line.split()[1] == "ok:" for line in result.out.splitlines())
    assert "access token (SHOPIFY_ACCESS_TOKEN)" in result.out


def test_client_credentials_pass_and_json_lists_every_check(shop: Shop) -> None:
    """With the app's client credentials the checks pass; --json gives each with its verdict."""
    _set_up(shop)
    _app(shop)

    result = shop.cli("doctor", "--address", ADDRESS, "--json")

    assert result.code == 0, result.out + result.err
    body = result.json()
    assert body["ok"] is True
    assert [c["name"] for c in body["checks"]][:3] == ["credentials", "api_version", "scopes"]
    assert "client credentials of app" in body["checks"][0]["found"]


def test_a_wrong_secret_fails_with_what_to_check_and_no_secret(shop: Shop) -> None:
    """A wrong client secret: the credentials line names the variables, exit 1, secret unshown."""
    _app(shop, secret="shpss_wrong_secret_123")

    result = shop.cli("doctor", "--address", ADDRESS)
    lines = {line.split()[0]: line for line in result.out.splitlines()}

    assert result.code == 1
    assert "fail: Shopify refused the client credentials" in lines["credentials"]
    assert "SHOPIFY_CLIENT_SECRET" in lines["credentials"]
    assert "shpss_wrong_secret_123" not in result.out + result.err


def test_missing_scopes_and_webhooks_fail_with_what_to_do(shop: Shop) -> None:
    """Scopes without read_orders and no subscriptions: each its own failing line, exit 1."""
    shop.sim("POST", "/auth", json={"scopes": ["write_inventory", "read_products"]})

    result = shop.cli("doctor", "--address", ADDRESS)
    lines = {line.split()[0]: line for line in result.out.splitlines()}

    assert result.code == 1
    assert "fail: the app lacks the scopes read_orders" in lines["scopes"]
    assert "-> run `shopify-sync webhooks check --repair`" in lines["webhooks"]
    assert "fail: no reconcile has succeeded yet" in lines["last_reconcile"]


def test_an_unmigrated_database_is_a_failing_line_not_a_migration(shop: Shop) -> None:
    """Doctor reports a database behind as a check (and the checks reading it as not run);
    it migrates nothing."""
    shop.env["DATABASE_URL"] = f"sqlite:///{shop.cwd / 'empty.db'}"

    result = shop.cli("doctor", "--address", ADDRESS)
    lines = {line.split()[0]: line for line in result.out.splitlines()}

    assert result.code == 1
    assert "fail: database at migration none" in lines["database"]
    assert "-> run `shopify-sync db upgrade`" in lines["database"]
    assert "fail: not checked -> fix the database first" in lines["product_errors"]
    assert shop.cli("doctor", "--address", ADDRESS).out == result.out


def test_commands_work_with_client_credentials(shop: Shop) -> None:
    """`locations` run with the app's client ID and secret lists the store's locations."""
    _app(shop)

    result = shop.cli("locations", "--json")

    assert result.code == 0, result.err
    assert {loc["name"] for loc in result.json()} == {"Main warehouse", "Overflow"}


def test_a_refused_exchange_is_one_line_exit_1(shop: Shop) -> None:
    """A wrong client secret: one line naming what to check, exit 1, no secret, no traceback."""
    _app(shop, secret="shpss_wrong_secret_456")

    result = shop.cli("locations")
    lines = result.err.strip().splitlines()

    assert result.code == 1
    assert lines[-1].startswith(
        "shopify-sync: Shopify error: Shopify refused the client credentials"
    )
    assert "SHOPIFY_CLIENT_SECRET" in lines[-1]
    assert "shpss_wrong_secret_456" not in result.out + result.err
    assert "Traceback" not in result.err
