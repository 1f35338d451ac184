"""Point 2: calculated query cost, the leaky bucket per plan, THROTTLED and MAX_COST_EXCEEDED."""

from __future__ import annotations

from shopify_sync.simulator import ManualClock
from tests.simulator.harness import Shop, make_config, start_shop

PAGE = "{ productVariants(first: 100) { edges { node { id sku } } } }"


def test_cost_extension_on_every_response(shop: Shop) -> None:
    """Even an invalid document carries extensions.cost.throttleStatus."""
    for query in ("{ shop { name } }", "{ nope }"):
        body = shop.gql(query)

        assert set(body["extensions"]["cost"]["throttleStatus"]) == {
            "maximumAvailable",
            "currentlyAvailable",
            "restoreRate",
        }


def test_requested_and_actual_cost(shop: Shop) -> None:
    """A connection costs 2 + first x node; the actual cost counts the nodes returned."""
    body = shop.gql(PAGE)

    cost = body["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (102, 22)
    assert cost["throttleStatus"] == {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": 1978,
        "restoreRate": 100.0,
    }


def test_mutation_costs_ten(shop: Shop) -> None:
    """A mutation field costs 10 points."""
    body = shop.gql(
        'mutation { webhookSubscriptionDelete(id: "gid://shopify/WebhookSubscription/1") '
        "{ userErrors { message } } }"
    )

    assert body["extensions"]["cost"]["requestedQueryCost"] == 10


def test_throttled_when_drained_and_clears_at_restore_rate(shop: Shop, clock: ManualClock) -> None:
    """A drained bucket answers THROTTLED (HTTP 200) until enough points were restored."""
    shop.http.post("/_simulator/throttle", json={"graphql_available": 50})

    throttled = shop.gql(PAGE)
    clock.advance(0.4)
    still = shop.gql(PAGE)
    clock.advance(0.2)
    allowed = shop.gql(PAGE)

    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert "data" not in throttled
    assert throttled["extensions"]["cost"]["actualQueryCost"] is None
    assert throttled["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 50
    assert still["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert "errors" not in allowed


def test_bucket_drains_by_use(clock: ManualClock) -> None:
    """Back-to-back expensive queries exhaust the 2,000-point Standard bucket."""
    query = "{ productVariants(first: 250) { edges { node { id inventoryItem { id } } } } }"
    for shop in start_shop(make_config(products=300), clock):
        codes = []
        for _ in range(5):
            body = shop.gql(query)
            codes.append(body["errors"][0]["extensions"]["code"] if "errors" in body else "OK")

        assert codes == ["OK", "OK", "OK", "THROTTLED", "THROTTLED"]


def test_max_cost_exceeded(shop: Shop) -> None:
    """A query whose requested cost is above 1,000 is refused whatever the bucket holds."""
    query = (
        "{ productVariants(first: 250) { edges { node { id inventoryItem "
        "{ inventoryLevels(first: 10) { nodes { id } } } } } } }"
    )

    body = shop.gql(query)

    error = body["errors"][0]
    assert error["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert error["message"] == (
        f"Query cost is {error['extensions']['cost']}, which exceeds the single query max cost "
        "limit (1000)."
    )


def test_plus_plan_has_a_bigger_bucket(clock: ManualClock) -> None:
    """The Plus plan reports a 20,000-point bucket restoring 1,000 per second."""
    for shop in start_shop(make_config(plan="plus"), clock):
        status = shop.gql("{ shop { name } }")["extensions"]["cost"]["throttleStatus"]

        assert (status["maximumAvailable"], status["restoreRate"]) == (20000.0, 1000.0)
