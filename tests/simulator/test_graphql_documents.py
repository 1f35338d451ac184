"""Point 2: every document and its variables are checked against the version's real schema."""

from __future__ import annotations

from tests.simulator.harness import SET_MUTATION, Shop

OLD_SET = """
mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}
"""


def _entry(shop: Shop, **cas: int | None) -> dict[str, object]:
    item, location, _ = shop.first_item()
    return {"inventoryItemId": item, "locationId": location, "quantity": 5, **cas}


def test_compare_quantity_is_refused_from_2026_04(shop: Shop) -> None:
    """`compareQuantity` no longer exists in 2026-04, so the variables are refused."""
    variables = {
        "key": "k",
        "input": {
            "name": "available",
            "reason": "correction",
            "quantities": [_entry(shop, compareQuantity=1)],
        },
    }

    body = shop.gql(SET_MUTATION, variables, "2026-04")

    assert "data" not in body
    assert body["errors"][0]["message"].startswith(
        "Variable $input of type InventorySetQuantitiesInput! was provided invalid value"
    )
    assert body["errors"][0]["extensions"]["problems"] == [
        {
            "path": ["quantities", 0, "compareQuantity"],
            "explanation": "Field is not defined on InventoryQuantityInput",
        }
    ]


def test_change_from_quantity_is_refused_before_2026_01(shop: Shop) -> None:
    """`changeFromQuantity` does not exist in 2025-10."""
    variables = {
        "input": {
            "name": "available",
            "reason": "correction",
            "quantities": [_entry(shop, changeFromQuantity=1)],
        }
    }

    body = shop.gql(OLD_SET, variables, "2025-10")

    assert body["errors"][0]["extensions"]["problems"][0]["path"] == [
        "quantities",
        0,
        "changeFromQuantity",
    ]


def test_field_missing_in_version_is_refused(shop: Shop) -> None:
    """`InventoryLevel.isActive` arrived in 2026-04, so 2026-01 refuses a query for it."""
    query = "{ location { inventoryLevels(first: 1) { nodes { isActive } } } }"

    refused = shop.gql(query, version="2026-01")
    accepted = shop.gql(query, version="2026-04")

    assert (
        refused["errors"][0]["message"] == "Field 'isActive' doesn't exist on type 'InventoryLevel'"
    )
    assert refused["errors"][0]["extensions"]["code"] == "undefinedField"
    assert accepted["data"]["location"]["inventoryLevels"]["nodes"] == [{"isActive": True}]


def test_syntax_error_is_reported_with_location(shop: Shop) -> None:
    """A document that does not parse gets an error with its line and column, and no data."""
    body = shop.gql("{ shop { name }")

    assert "data" not in body
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 16}]
    assert "cost" in body["extensions"]


def test_missing_required_variable_is_refused(shop: Shop) -> None:
    """A required variable that is not sent is refused before execution."""
    body = shop.gql(SET_MUTATION, {"key": "k"})

    assert body["errors"][0]["message"].startswith("Variable $input of type")
    assert body["errors"][0]["extensions"]["problems"] == [
        {"path": [], "explanation": "Expected value to not be null"}
    ]


def test_enum_variable_value_is_checked(shop: Shop) -> None:
    """An enum variable with an unknown value is refused."""
    query = """mutation W($topic: WebhookSubscriptionTopic!) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: "https://x.test/h"}) {
        userErrors { message } } }"""

    body = shop.gql(query, {"topic": "NOT_A_TOPIC"})

    assert body["errors"][0]["extensions"]["problems"] == [
        {
            "path": [],
            "explanation": 'Expected "NOT_A_TOPIC" to be one of the '
            "WebhookSubscriptionTopic values",
        }
    ]


def test_operation_name_required_with_several_operations(shop: Shop) -> None:
    """A document with two operations needs an operationName."""
    body = shop.gql("query A { shop { name } } query B { shop { id } }")

    assert body["errors"] == [{"message": "An operation name is required"}]


def test_operation_name_selects_operation(shop: Shop) -> None:
    """operationName picks the operation to run."""
    response = shop.http.post(
        "/admin/api/2026-04/graphql.json",
        json={
            "query": "query A { shop { name } } query B { shop { myshopifyDomain } }",
            "operationName": "B",
        },
    )

    assert response.json()["data"] == {"shop": {"myshopifyDomain": "demo.myshopify.com"}}


def test_unimplemented_non_null_field_is_an_error_not_invented_data(shop: Shop) -> None:
    """A field the simulator does not implement yields an error where the schema forbids null."""
    body = shop.gql("{ shop { name analyticsToken } }")

    assert body["data"] is None
    assert "Cannot return null for non-nullable field" in body["errors"][0]["message"]


def test_application_graphql_body_is_accepted(shop: Shop) -> None:
    """A raw `application/graphql` body is read as the query text."""
    response = shop.http.post(
        "/admin/api/2026-04/graphql.json",
        content=b"{ shop { name } }",
        headers={"Content-Type": "application/graphql"},
    )

    assert response.json()["data"] == {"shop": {"name": "Demo"}}


def test_non_json_body_is_400(shop: Shop) -> None:
    """A body that is not JSON is a bad request."""
    response = shop.http.post(
        "/admin/api/2026-04/graphql.json",
        content=b"not json",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
