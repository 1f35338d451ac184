"""Mistakes of a new user's first hour, run as processes: one line, the right exit code, and
nothing parked or written because of them (issue 12)."""

from __future__ import annotations

import socket

from tests.integration.cli.conftest import Shop
from tests.integration.cli.test_operator_cli import seed


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_wrong_location_is_a_configuration_error_that_parks_nothing(shop: Shop) -> None:
    """An unknown SHOPIFY_LOCATION_ID stops `sync`, `sync --all --dry-run`, `enable` and
    `serve` with one line naming it and `shopify-sync locations` (exit 2); nothing is parked."""
    seed(shop)
    shop.cli("products", "link", "p-mug", "--sku", "MUG-1")
    shop.sql("UPDATE product_inventory SET sync_enabled = true WHERE product_id = 'p-mug'")
    shop.env["SHOPIFY_LOCATION_ID"] = "999999"

    results = [
        shop.cli("sync", "p-mug"),
        shop.cli("sync", "--all", "--dry-run"),
        shop.cli("products", "enable", "p-mug"),
        shop.cli("serve", "--port", str(free_port())),
    ]

    for result in results:
        assert result.code == 2, result.out + result.err
        [line] = result.err.strip().splitlines()
        assert line.startswith("shopify-sync: configuration error: SHOPIFY_LOCATION_ID:")
        assert "no location with id 999999" in line and "shopify-sync locations" in line
        assert "None" not in result.out
    assert shop.sql(
        "SELECT sync_error, parked_at, sync_attempts FROM product_inventory"
        " WHERE product_id = 'p-mug'"
    ) == [(None, None, 0)]
