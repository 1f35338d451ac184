"""Small values of the Shopify adapter: versions, global ids and webhook topics."""

from __future__ import annotations

import pytest

from shopify_sync.adapters.shopify.gid import from_gid, to_gid
from shopify_sync.adapters.shopify.topics import topic_enum, topic_rest
from shopify_sync.adapters.shopify.version import ApiFeatures, features_for
from shopify_sync.errors import ConfigError


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2025-07", (False, False, True, False, False, False)),
        ("2025-10", (False, False, True, False, True, False)),
        ("2026-01", (True, True, True, True, True, False)),
        ("2026-07", (True, True, True, True, True, False)),
        ("2026-10", (True, True, True, True, True, True)),
        ("unstable", (True, True, True, True, True, True)),
    ],
)
def test_features_by_version(version: str, expected: tuple[bool, ...]) -> None:
    """Each version's flags follow the schema changes of the reference's timeline."""
    features = features_for(version)

    assert features == ApiFeatures(version, *expected)


@pytest.mark.parametrize("version", ["2026-4", "latest", ""])
def test_a_malformed_version_is_a_config_error(version: str) -> None:
    """A version that is neither YYYY-MM nor unstable fails at construction."""
    with pytest.raises(ConfigError):
        features_for(version)


def test_gids_round_trip() -> None:
    """A numeric id survives being turned into a GID and back."""
    assert from_gid("InventoryItem", to_gid("InventoryItem", 271878346596884015)) == (
        271878346596884015
    )


@pytest.mark.parametrize(
    "gid",
    ["gid://shopify/Location/1", "gid://shopify/InventoryItem/", "gid://shopify/InventoryItem/x1"],
)
def test_foreign_or_broken_gids_are_refused(gid: str) -> None:
    """A GID of another kind or without a number raises ValueError."""
    with pytest.raises(ValueError, match="not a InventoryItem id"):
        from_gid("InventoryItem", gid)


@pytest.mark.parametrize(
    "topic",
    ["inventory_levels/update", "orders/create", "orders/partially_fulfilled", "app/uninstalled"],
)
def test_topics_round_trip(topic: str) -> None:
    """Known REST topics survive the trip through GraphQL's enum."""
    assert topic_rest(topic_enum(topic)) == topic


def test_unknown_topics_take_the_last_word_as_action() -> None:
    """An enum we do not know maps the last word to the action."""
    assert topic_rest("CUSTOMERS_DATA_REQUEST") == "customers_data/request"
