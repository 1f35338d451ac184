"""Shopify's Admin GraphQL schemas (packaged, older in tests/oracles) and checks of requests."""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    build_client_schema,
    get_nullable_type,
    parse,
    type_from_ast,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.language import Visitor, visit

PACKAGED = Path(__file__).resolve().parents[3] / "src" / "shopify_sync" / "simulator" / "schemas"
ORACLES = Path(__file__).resolve().parents[2] / "oracles" / "admin-graphql"
SUPPORTED_VERSIONS = ("2025-10", "2026-01", "2026-04", "2026-07", "2026-10")
"""The versions the service supports; every document is validated against each."""
OLDER_VERSIONS = ("2025-07",)
"""Also checked: the ``callbackUrl`` branch for versions before 2025-10."""


@functools.cache
def admin_schema(version: str) -> GraphQLSchema:
    """The introspected Admin API schema of *version* (loaded once per test session)."""
    name = f"admin_{version}.json.gz"
    path = PACKAGED / name if (PACKAGED / name).exists() else ORACLES / name
    with gzip.open(path) as handle:
        introspection = json.load(handle)
    return build_client_schema(introspection["data"])


def schema_problems(version: str, query: str, variables: dict[str, Any] | None) -> list[str]:
    """What *version*'s schema finds wrong with *query* and its *variables* (empty if valid)."""
    schema = admin_schema(version)
    document = parse(query)
    errors = validate(schema, document)
    if errors:
        return [error.message for error in errors]
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return [error.message for error in coerced]
    return []


class _FieldFinder(Visitor):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.found: list[FieldNode] = []

    def enter_field(self, node: FieldNode, *_: object) -> None:
        if node.name.value == self.name:
            self.found.append(node)


def fields_named(document: DocumentNode, name: str) -> list[FieldNode]:
    """Every selection of the field *name* in *document*."""
    finder = _FieldFinder(name)
    visit(document, finder)
    return finder.found


def runtime_problems(version: str, body: dict[str, Any]) -> list[str]:
    """
    The 2026-04 runtime rules the schema cannot express, for one ``inventorySetQuantities`` body.

    From 2026-04 every entry must carry ``changeFromQuantity`` (a value or null) and the
    field must carry ``@idempotent(key:)`` with a non-blank key.
    """
    if version < "2026-04":
        return []
    problems = []
    document = parse(body["query"])
    for field_node in fields_named(document, "inventorySetQuantities"):
        directives = [d for d in field_node.directives if d.name.value == "idempotent"]
        if not directives:
            problems.append("inventorySetQuantities without @idempotent")
            continue
        key_args = [a for a in directives[0].arguments if a.name.value == "key"]
        if not key_args:
            problems.append("@idempotent without key")
            continue
        value = key_args[0].value
        key = body["variables"].get(value.name.value) if isinstance(value, VariableNode) else None
        if isinstance(value, VariableNode) and not (isinstance(key, str) and key.strip()):
            problems.append("@idempotent key variable is blank")
    for entry in body["variables"]["input"]["quantities"]:
        if "changeFromQuantity" not in entry:
            problems.append(f"entry without changeFromQuantity: {entry}")
    return problems


def deprecated_uses(version: str, query: str, variables: dict[str, Any] | None) -> list[str]:
    """Every deprecated field, argument, enum value or input field that *query* and its
    *variables* use in *version*'s schema (empty when the request follows current practice)."""
    schema = admin_schema(version)
    document = parse(query)
    type_info = TypeInfo(schema)
    found: list[str] = []

    class _Finder(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            field = type_info.get_field_def()
            if field is not None and field.deprecation_reason:
                found.append(f"field {node.name.value}")

        def enter_argument(self, node: ArgumentNode, *_: object) -> None:
            argument = type_info.get_argument()
            if argument is not None and argument.deprecation_reason:
                found.append(f"argument {node.name.value}")

        def enter_enum_value(self, node: EnumValueNode, *_: object) -> None:
            value = type_info.get_enum_value()
            if value is not None and value.deprecation_reason:
                found.append(f"enum value {node.value}")

    visit(document, TypeInfoVisitor(type_info, _Finder()))
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    for definition in operation.variable_definitions or ():
        kind = type_from_ast(schema, definition.type)
        value = (variables or {}).get(definition.variable.name.value)
        found.extend(_deprecated_inputs(kind, value))
    return found


def _deprecated_inputs(kind: Any, value: Any) -> list[str]:
    kind = get_nullable_type(kind)
    if isinstance(kind, GraphQLList) and isinstance(value, list):
        return [found for item in value for found in _deprecated_inputs(kind.of_type, item)]
    if isinstance(kind, GraphQLInputObjectType) and isinstance(value, dict):
        found = []
        for name, item in value.items():
            field = kind.fields.get(name)
            if field is None:
                continue
            if field.deprecation_reason:
                found.append(f"input field {kind.name}.{name}")
            found.extend(_deprecated_inputs(field.type, item))
        return found
    if isinstance(kind, GraphQLEnumType) and isinstance(value, str):
        enum_value = kind.values.get(value)
        if enum_value is not None and enum_value.deprecation_reason:
            return [f"enum value {kind.name}.{value}"]
    return []
