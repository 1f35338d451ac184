"""`POST /admin/api/{version}/graphql.json`: validation, cost and throttling, version rules,
idempotency, execution, and `extensions.cost` on every response."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from graphql import (
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    StringValueNode,
    VariableNode,
)
from graphql.execution.values import get_argument_values

from shopify_sync.simulator.auth import access_denied, missing_scope
from shopify_sync.simulator.config import MAX_QUERY_COST
from shopify_sync.simulator.cost import CostCalculator
from shopify_sync.simulator.gql.document import JsonError, coerce_variables, format_error
from shopify_sync.simulator.gql.engine import SCHEMAS, execute
from shopify_sync.simulator.gql.idempotency import IDEMPOTENT_FIELDS, Decision
from shopify_sync.simulator.sim import Simulator
from shopify_sync.simulator.versions import VersionRules

DOCS = "https://shopify.dev/api/usage/rate-limits"
DEPRECATION_DOCS = "https://shopify.dev/api/usage/versioning#deprecation-practices"


class GraphQLReply:
    """A response body plus its HTTP status and extra headers."""

    def __init__(
        self, body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.body = body
        self.status = status
        self.headers = headers or {}


def _cost(sim: Simulator, requested: int, actual: int | None) -> dict[str, Any]:
    bucket = sim.graphql_bucket
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": {
            "maximumAvailable": bucket.capacity,
            "currentlyAvailable": int(bucket.available()),
            "restoreRate": bucket.rate,
        },
    }


def _errors(
    sim: Simulator, errors: list[JsonError], requested: int = 0, actual: int | None = 0
) -> GraphQLReply:
    return GraphQLReply({"errors": errors, "extensions": {"cost": _cost(sim, requested, actual)}})


async def schema_for(version: str) -> GraphQLSchema:
    """The version's schema; the first load (about half a second) runs off the event loop."""
    schema = SCHEMAS.cached(version)
    if schema is not None:
        return schema
    return await asyncio.to_thread(SCHEMAS.get, version)


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any] | None:
    if content_type.startswith("application/graphql"):
        return {"query": raw.decode("utf-8", "replace")}
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return payload if isinstance(payload, dict) else None


async def run_graphql(
    sim: Simulator, version: str, raw: bytes, content_type: str, base_url: str
) -> GraphQLReply:
    """Answer one GraphQL request the way Shopify does."""
    payload = _parse_body(raw, content_type)
    if payload is None or not isinstance(payload.get("query"), str):
        return GraphQLReply({"errors": {"query": "Required parameter missing or invalid"}}, 400)
    variables = payload.get("variables") or {}
    if not isinstance(variables, dict):
        return _errors(sim, [{"message": "Variables must be a JSON object"}])
    schema = await schema_for(version)
    prepared = sim.documents.get(version, schema, payload["query"])
    if prepared.errors:
        return _errors(sim, prepared.errors)
    operation = prepared.operation(payload.get("operationName"))
    if not isinstance(operation, OperationDefinitionNode):
        return _errors(sim, [operation])
    coerced, variable_errors = coerce_variables(schema, operation, variables)
    if variable_errors:
        return _errors(sim, variable_errors)
    denied = _denied(sim, operation)
    if denied:
        return _errors(sim, denied)
    calculator = CostCalculator(schema, prepared.fragments, coerced)
    requested = calculator.operation(operation)
    if requested > MAX_QUERY_COST:
        return _errors(
            sim,
            [
                {
                    "message": f"Query cost is {requested}, which exceeds the single query max "
                    f"cost limit ({MAX_QUERY_COST}).",
                    "extensions": {
                        "code": "MAX_COST_EXCEEDED",
                        "cost": requested,
                        "maxCost": MAX_QUERY_COST,
                        "documentation": DOCS,
                    },
                }
            ],
            requested,
            None,
        )
    if not sim.graphql_bucket.try_take(requested):
        throttled = {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": DOCS},
        }
        return _errors(sim, [throttled], requested, None)
    rules = VersionRules(version)
    decisions, rule_errors = _claim_keys(sim, schema, operation, coerced, rules)
    if rule_errors:
        sim.graphql_bucket.refund(requested)
        return _errors(sim, rule_errors, requested, 0)
    try:
        if sim.faults.latency_s:
            # Added while the idempotency keys are claimed, so concurrent retries see them.
            await asyncio.sleep(sim.faults.latency_s)
        context = sim.context(rules, base_url)
        context.idempotency = decisions
        result = execute(schema, prepared, operation, coerced, context)
    finally:
        for decision in decisions.values():
            if decision.fresh:
                sim.keys.release(decision.key)
    actual = calculator.operation(operation, result.data or {})
    sim.graphql_bucket.refund(max(0, requested - actual))
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [format_error(error) for error in result.errors]
    body["data"] = result.data
    body["extensions"] = {"cost": _cost(sim, requested, actual)}
    headers = {"X-Shopify-API-Deprecated-Reason": DEPRECATION_DOCS} if prepared.deprecated else None
    return GraphQLReply(body, headers=headers)


def _denied(sim: Simulator, operation: OperationDefinitionNode) -> list[JsonError]:
    """`ACCESS_DENIED` for each top-level field outside the app's granted scopes."""
    errors: list[JsonError] = []
    for node in operation.selection_set.selections:
        if not isinstance(node, FieldNode):
            continue
        scope = missing_scope(node.name.value, sim.auth.scopes)
        if scope is not None:
            key = node.alias.value if node.alias else node.name.value
            errors.append(access_denied(node.name.value, scope, [key]))
    return errors


def _claim_keys(
    sim: Simulator,
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    rules: VersionRules,
) -> tuple[dict[str, Decision], list[JsonError]]:
    """Apply the `@idempotent` rules of the version and claim the keys of this request."""
    if operation.operation.value != "mutation" or not rules.idempotency_supported:
        return {}, []
    mutation = schema.mutation_type
    assert mutation is not None
    errors: list[JsonError] = []
    wanted: list[tuple[str, str, str]] = []
    for node in operation.selection_set.selections:
        if not isinstance(node, FieldNode):
            continue
        name = node.name.value
        response_key = node.alias.value if node.alias else name
        where = _where(node, response_key)
        directive = next((d for d in node.directives or () if d.name.value == "idempotent"), None)
        if directive is None:
            if rules.idempotency_required and name in IDEMPOTENT_FIELDS:
                errors.append(
                    {
                        "message": f"The @idempotent directive is required for {name} "
                        f"in API version {rules.version}.",
                        **where,
                        "extensions": {"code": "BAD_REQUEST"},
                    }
                )
            continue
        if name not in IDEMPOTENT_FIELDS:
            errors.append(
                {
                    "message": f"The @idempotent directive is not supported on {name}.",
                    **where,
                    "extensions": {"code": "BAD_REQUEST"},
                }
            )
            continue
        key = _key_value(directive.arguments[0].value if directive.arguments else None, variables)
        if not key or not key.strip():
            errors.append(
                {
                    "message": "The idempotency key cannot be an empty string or whitespace only.",
                    **where,
                    "extensions": {"code": "BAD_REQUEST"},
                }
            )
            continue
        arguments = get_argument_values(mutation.fields[name], node, variables)
        fingerprint = name + orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS).decode()
        wanted.append((response_key, key, fingerprint))
    if errors:
        return {}, errors
    now = sim.clock.monotonic()
    return {response_key: sim.keys.begin(key, fp, now) for response_key, key, fp in wanted}, []


def _key_value(node: Any, variables: dict[str, Any]) -> str | None:
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, VariableNode):
        value = variables.get(node.name.value)
        return value if isinstance(value, str) else None
    return None


def _where(node: FieldNode, response_key: str) -> dict[str, Any]:
    where: dict[str, Any] = {"path": [response_key]}
    if node.loc is not None:
        location = node.loc.source.get_location(node.loc.start)
        where["locations"] = [{"line": location.line, "column": location.column}]
    return where
