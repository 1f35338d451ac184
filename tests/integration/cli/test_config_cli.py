"""Each command requires only the settings it uses; a bad configuration is reported at once.

Run as processes, like an operator's terminal: exit codes and what reaches stdout and stderr.
"""

from __future__ import annotations

import dataclasses

from tests.integration.cli.conftest import Shop


def without(shop: Shop, *names: str) -> Shop:
    """The same shop, with these variables unset."""
    env = {k: v for k, v in shop.env.items() if k not in names}
    return dataclasses.replace(shop, env=env)


def test_locations_needs_neither_the_location_nor_the_api_token(shop: Shop) -> None:
    """`locations` runs with only the shop and its token: it exists to find the location."""
    bare = without(
        shop, "SHOPIFY_LOCATION_ID", "SYNC_API_TOKEN", "SHOPIFY_WEBHOOK_SECRET", "DATABASE_URL"
    )

    result = bare.cli("locations", "--json")

    assert (result.code, result.err) == (0, "")
    assert [loc["name"] for loc in result.json()] == ["Main warehouse", "Overflow"]


def test_local_commands_need_no_shopify_setting(shop: Shop) -> None:
    """`products list`, `log` and `errors` read our tables only: no Shopify variable needed."""
    bare = without(
        shop,
        "SHOPIFY_STORE_DOMAIN",
        "SHOPIFY_ACCESS_TOKEN",
        "SHOPIFY_WEBHOOK_SECRET",
        "SHOPIFY_LOCATION_ID",
        "SHOPIFY_ADMIN_URL",
        "SYNC_API_TOKEN",
    )

    codes = [bare.cli(*args).code for args in (["products", "list"], ["log"], ["errors"])]

    assert codes == [0, 0, 0]


def test_db_upgrade_needs_only_the_database_url(shop: Shop) -> None:
    """`db upgrade` ignores every other setting, even a malformed one."""
    bare = without(shop, "SHOPIFY_STORE_DOMAIN", "SHOPIFY_ACCESS_TOKEN", "SYNC_API_TOKEN")
    bare.env["SHOPIFY_LOCATION_ID"] = "not-a-number"

    result = bare.cli("db", "upgrade")

    assert (result.code, result.err) == (0, "")
    assert result.out.startswith("database at head: sqlite+aiosqlite:///")


def test_sync_lists_every_missing_setting_at_once(shop: Shop) -> None:
    """`sync --all` without Shopify settings names all of them in one error, exit 2."""
    bare = without(shop, "SHOPIFY_STORE_DOMAIN", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_LOCATION_ID")
    bare.env["SHOPIFY_API_VERSION"] = "2026-02"

    result = bare.cli("sync", "--all")

    assert result.code == 2
    assert result.out == ""
    lines = result.err.splitlines()
    assert lines[0] == "shopify-sync: configuration error: 4 settings to fix:"
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "SHOPIFY_STORE_DOMAIN",
        "SHOPIFY_API_VERSION",
        "SHOPIFY_ACCESS_TOKEN",
        "SHOPIFY_LOCATION_ID",
    ]
