"""Execution of a prepared operation with already coerced variables.

graphql-core's `execute` would coerce the variables a second time; building the execution
context directly avoids that, which matters for 250-entry mutations.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ExecutionContext,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    default_field_resolver,
)
from graphql.execution.execute import assume_not_awaitable

from shopify_sync.simulator.gql.document import PreparedDocument
from shopify_sync.simulator.gql.mutations import MUTATION_RESOLVERS
from shopify_sync.simulator.gql.objects import OBJECT_RESOLVERS, resolve_type
from shopify_sync.simulator.gql.queries import QUERY_RESOLVERS
from shopify_sync.simulator.gql.schema import ResolverMap, SchemaRegistry


def resolvers() -> ResolverMap:
    """Every resolver, by GraphQL type name then field name."""
    from shopify_sync.simulator.gql.bulkops import BULK_RESOLVERS

    return {
        "QueryRoot": QUERY_RESOLVERS,
        "Mutation": MUTATION_RESOLVERS,
        **OBJECT_RESOLVERS,
        **BULK_RESOLVERS,
    }


SCHEMAS = SchemaRegistry(resolvers)
"""Process-wide schemas: each version is loaded once, on first use."""


def execute(
    schema: GraphQLSchema,
    prepared: PreparedDocument,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    context: Any,
) -> ExecutionResult:
    """Run one operation synchronously (all resolvers are synchronous)."""
    exe = ExecutionContext(
        schema,
        prepared.fragments,
        None,
        context,
        operation,
        variables,
        default_field_resolver,
        resolve_type,
        default_field_resolver,
        [],
        None,
        assume_not_awaitable,
    )
    try:
        data: dict[str, Any] | None = exe.execute_operation(operation, None)  # type: ignore[assignment]  # synchronous resolvers only
    except GraphQLError as error:
        exe.errors.append(error)
        return ExecutionResult(None, exe.errors)
    return ExecutionResult(data, exe.errors or None)
