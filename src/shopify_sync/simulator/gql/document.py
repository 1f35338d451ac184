"""Parsing, validation and variable coercion of GraphQL documents, with Shopify's error shapes.

Parsed and validated documents are cached by (version, text) in an LRU, so a client that
sends the same mutation again pays only for variable coercion and execution.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLInputType,
    GraphQLSchema,
    NoDeprecatedCustomRule,
    OperationDefinitionNode,
    Undefined,
    is_input_type,
    is_non_null_type,
    parse,
    print_ast,
    type_from_ast,
    validate,
    value_from_ast,
)
from graphql.utilities import coerce_input_value

CACHE_SIZE = 512

JsonError = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A parsed document and its validation errors (already in response shape)."""

    document: DocumentNode | None
    errors: list[JsonError]
    operations: dict[str | None, OperationDefinitionNode]
    fragments: dict[str, FragmentDefinitionNode]
    deprecated: bool = False
    """Whether the document uses a deprecated field, argument or enum value."""

    def operation(self, name: str | None) -> OperationDefinitionNode | JsonError:
        """The operation to run, or an error in response shape."""
        if name:
            found = self.operations.get(name)
            if found is None:
                return {"message": f'No operation named "{name}"'}
            return found
        if len(self.operations) == 1:
            return next(iter(self.operations.values()))
        if not self.operations:
            return {"message": "No operations in query document"}
        return {"message": "An operation name is required"}


class DocumentCache:
    """LRU of prepared documents keyed by API version and document text."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str], PreparedDocument] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: str, schema: GraphQLSchema, text: str) -> PreparedDocument:
        key = (version, text)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        prepared = prepare(schema, text)
        with self._lock:
            self._entries[key] = prepared
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return prepared


def prepare(schema: GraphQLSchema, text: str) -> PreparedDocument:
    """Parse and validate a document against one version's schema."""
    try:
        document = parse(text)
    except GraphQLError as error:
        return PreparedDocument(None, [format_error(error)], {}, {})
    errors = [format_error(e) for e in validate(schema, document)]
    deprecated = not errors and _uses_deprecated(schema, document)
    operations: dict[str | None, OperationDefinitionNode] = {}
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            operations[definition.name.value if definition.name else None] = definition
        elif isinstance(definition, FragmentDefinitionNode):
            fragments[definition.name.value] = definition
    return PreparedDocument(document, errors, operations, fragments, deprecated)


def _uses_deprecated(schema: GraphQLSchema, document: DocumentNode) -> bool:
    try:
        return bool(validate(schema, document, [NoDeprecatedCustomRule]))
    except AttributeError:
        # graphql-core's rule reads the SDL node of a deprecated argument to word its message;
        # schemas built from introspection have none, so reaching it means deprecated usage.
        return True


_REWRITES: list[tuple[re.Pattern[str], str, dict[str, str]]] = [
    (
        re.compile(r"^Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'\."),
        "Field '{field}' doesn't exist on type '{type}'",
        {"code": "undefinedField", "typeName": "{type}", "fieldName": "{field}"},
    ),
    (
        re.compile(r"^Unknown argument '(?P<arg>\w+)' on field '(?P<type>\w+)\.(?P<field>\w+)'\."),
        "Field '{field}' doesn't accept argument '{arg}'",
        {
            "code": "argumentNotAccepted",
            "name": "{field}",
            "typeName": "Field",
            "argumentName": "{arg}",
        },
    ),
    (
        re.compile(
            r"^Field '(?P<field>\w+)' argument '(?P<arg>\w+)' of type '.*' is required, "
            r"but it was not provided\."
        ),
        "Field '{field}' is missing required arguments: {arg}",
        {
            "code": "missingRequiredArguments",
            "className": "Field",
            "name": "{field}",
            "arguments": "{arg}",
        },
    ),
]


def format_error(error: GraphQLError) -> JsonError:
    """A graphql-core error in the response shape, with graphql-ruby's wording where known."""
    message = error.message
    extensions: dict[str, Any] | None = None
    for pattern, template, ext in _REWRITES:
        match = pattern.match(message)
        if match is not None:
            message = template.format(**match.groupdict())
            extensions = {k: v.format(**match.groupdict()) for k, v in ext.items()}
            break
    shaped: JsonError = {"message": message}
    if error.locations:
        shaped["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        shaped["path"] = list(error.path)
    if extensions is not None:
        shaped["extensions"] = extensions
    elif error.extensions:
        shaped["extensions"] = dict(error.extensions)
    return shaped


_NOT_DEFINED = re.compile(r"^Field '(?P<field>\w+)' is not defined by type '(?P<type>\w+)'")
_NOT_PROVIDED = re.compile(r"^Field '(?P<field>\w+)' of required type '.*' was not provided")
_ENUM = re.compile(r"^Value '(?P<value>.*)' does not exist in '(?P<type>\w+)' enum")


def _explain(path: list[Any], message: str) -> tuple[list[Any], str]:
    match = _NOT_DEFINED.match(message)
    if match:
        return [*path, match["field"]], f"Field is not defined on {match['type']}"
    match = _NOT_PROVIDED.match(message)
    if match:
        return [*path, match["field"]], "Expected value to not be null"
    if message.startswith("Expected non-nullable type"):
        return path, "Expected value to not be null"
    match = _ENUM.match(message)
    if match:
        return path, f'Expected "{match["value"]}" to be one of the {match["type"]} values'
    return path, message.split(";")[0].rstrip(".")


def coerce_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, raw: Mapping[str, Any]
) -> tuple[dict[str, Any], list[JsonError]]:
    """Coerce request variables to the operation's types; errors in graphql-ruby's shape."""
    coerced: dict[str, Any] = {}
    errors: list[JsonError] = []
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        var_type = type_from_ast(schema, definition.type)
        type_text = print_ast(definition.type)
        location = _location(definition)
        if var_type is None or not is_input_type(var_type):
            errors.append({"message": f"{type_text} isn't a valid input type (on ${name})"})
            continue
        input_type: GraphQLInputType = var_type  # type: ignore[assignment]  # checked just above
        if name not in raw:
            if definition.default_value is not None:
                coerced[name] = value_from_ast(definition.default_value, input_type)
            elif is_non_null_type(input_type):
                errors.append(
                    _variable_error(
                        name, type_text, None, [([], "Expected value to not be null")], location
                    )
                )
            continue
        problems: list[tuple[list[Any], str]] = []
        value = coerce_input_value(raw[name], input_type, _collect(problems))
        if problems:
            errors.append(_variable_error(name, type_text, raw[name], problems, location))
        elif value is not Undefined:
            coerced[name] = value
    return coerced, errors


def _collect(
    problems: list[tuple[list[Any], str]],
) -> Callable[[list[Any], Any, GraphQLError], None]:
    def on_error(path: list[Any], _invalid: Any, error: GraphQLError) -> None:
        problems.append(_explain(list(path), error.message))

    return on_error


def _location(node: Any) -> dict[str, int] | None:
    if node.loc is None:
        return None
    where = node.loc.source.get_location(node.loc.start)
    return {"line": where.line, "column": where.column}


def _variable_error(
    name: str,
    type_text: str,
    value: Any,
    problems: list[tuple[list[Any], str]],
    location: dict[str, int] | None,
) -> JsonError:
    details = ", ".join(
        f"for {'.'.join(str(p) for p in path)} ({why})" if path else f"({why})"
        for path, why in problems
    )
    error: JsonError = {
        "message": f"Variable ${name} of type {type_text} was provided invalid value {details}",
        "extensions": {
            "value": value,
            "problems": [{"path": path, "explanation": why} for path, why in problems],
        },
    }
    if location is not None:
        error["locations"] = [location]
    return error
