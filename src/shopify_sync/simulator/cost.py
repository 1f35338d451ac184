"""Calculated query cost with Shopify's rules (reference 8.1).

Scalars and enums cost 0, objects 1, a connection 2 plus `first`/`last` times the cost of one
node, a list of objects its length (the length of a list argument such as `ids`, else 1) times
one element, and every top-level mutation field 10. The actual cost walks the response
instead, counting the nodes really returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)

MUTATION_COST = 10


class CostCalculator:
    """Cost of one operation; `data` None gives the requested cost, else the actual cost."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._variables = variables

    def operation(self, operation: OperationDefinitionNode, data: Any = None) -> int:
        if operation.operation.value == "mutation":
            return MUTATION_COST * len(self._fields(operation.selection_set))
        root = self._schema.query_type
        assert root is not None
        return self._selection(root, operation.selection_set, data, actual=data is not None)

    def _fields(self, selection_set: SelectionSetNode) -> list[FieldNode]:
        fields: list[FieldNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                fields.extend(self._fields(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments.get(selection.name.value)
                if fragment is not None:
                    fields.extend(self._fields(fragment.selection_set))
        return fields

    def _selection(
        self, parent: Any, selection_set: SelectionSetNode | None, data: Any, actual: bool
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for node in self._fields(selection_set):
            name = node.name.value
            if name.startswith("__"):
                continue
            field = self._field_def(parent, name)
            if field is None:
                continue
            key = node.alias.value if node.alias else name
            value = data.get(key) if actual and isinstance(data, Mapping) else None
            total += self._field(field, node, value, actual)
        return total

    def _field_def(self, parent: Any, name: str) -> GraphQLField | None:
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            found: GraphQLField | None = parent.fields.get(name)
            return found
        if isinstance(parent, GraphQLUnionType):
            for member in parent.types:
                if name in member.fields:
                    field: GraphQLField = member.fields[name]
                    return field
        return None

    def _field(self, field: GraphQLField, node: FieldNode, value: Any, actual: bool) -> int:
        named = get_named_type(field.type)
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            return 0
        if actual and value is None:
            return 0
        if named.name.endswith("Connection") and isinstance(named, GraphQLObjectType):
            return 2 + self._connection(named, node, value, actual)
        if _is_list(field.type):
            items: list[Any] = value if actual and isinstance(value, list) else []
            if actual:
                return sum(1 + self._selection(named, node.selection_set, v, True) for v in items)
            count = self._list_length(node)
            return count * (1 + self._selection(named, node.selection_set, None, False))
        return 1 + self._selection(named, node.selection_set, value, actual)

    def _connection(
        self, connection: GraphQLObjectType, node: FieldNode, value: Any, actual: bool
    ) -> int:
        total = 0
        assert node.selection_set is not None
        for child in self._fields(node.selection_set):
            name = child.name.value
            key = child.alias.value if child.alias else name
            if name not in ("edges", "nodes"):
                continue
            element = get_named_type(connection.fields[name].type)
            if actual:
                rows = value.get(key) if isinstance(value, Mapping) else None
                for row in rows or []:
                    if name == "edges":
                        total += self._edge(element, child, row, True)
                    else:
                        total += 1 + self._selection(element, child.selection_set, row, True)
            else:
                count = self._page_size(node)
                if name == "edges":
                    total += count * self._edge(element, child, None, False)
                else:
                    total += count * (
                        1 + self._selection(element, child.selection_set, None, False)
                    )
        return total

    def _edge(self, edge_type: Any, edge: FieldNode, row: Any, actual: bool) -> int:
        total = 0
        if edge.selection_set is None:
            return 0
        for child in self._fields(edge.selection_set):
            if child.name.value != "node":
                continue
            key = child.alias.value if child.alias else "node"
            node_value = row.get(key) if actual and isinstance(row, Mapping) else None
            node_type = get_named_type(edge_type.fields["node"].type)
            total += 1 + self._selection(node_type, child.selection_set, node_value, actual)
        return total

    def _argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            if isinstance(argument.value, VariableNode):
                return self._variables.get(argument.value.name.value)
            return value_from_ast_untyped(argument.value, dict(self._variables))
        return None

    def _page_size(self, node: FieldNode) -> int:
        for name in ("first", "last"):
            value = self._argument(node, name)
            if isinstance(value, int):
                return max(0, value)
        return 0

    def _list_length(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            value = self._argument(node, argument.name.value)
            if isinstance(value, list):
                return max(1, len(value))
        return 1


def _is_list(type_: GraphQLOutputType) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)
