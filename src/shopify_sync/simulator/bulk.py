"""Bulk operations: `bulkOperationRunQuery` runs in the background and writes JSONL.

The query runs in slices of the outermost connection (pages are unlimited in bulk mode), so
100,000 variants never block the event loop for long. Rows of nested connections carry
`__parentId`; the result is streamed from `/_simulator/bulk/{id}.jsonl`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    OperationDefinitionNode,
    get_named_type,
)

from shopify_sync.simulator.events import BulkOperationFinished
from shopify_sync.simulator.gql.context import RequestContext
from shopify_sync.simulator.gql.document import DocumentCache, PreparedDocument
from shopify_sync.simulator.gql.engine import SCHEMAS
from shopify_sync.simulator.gql.projection import Projector
from shopify_sync.simulator.ids import IdAllocator, gid
from shopify_sync.simulator.inventory import UserError
from shopify_sync.simulator.store import Store
from shopify_sync.simulator.timefmt import iso_utc
from shopify_sync.simulator.versions import VersionRules

CHUNK = 500
"""Root nodes per slice: one slice blocks the event loop for a few tens of milliseconds."""
MAX_CONNECTIONS = 5
MAX_DEPTH = 2


@dataclass(slots=True)
class BulkOperation:
    """One bulk query and its result file."""

    id: int
    query: str
    created_at: int
    type: str = "QUERY"
    status: str = "CREATED"
    error_code: str | None = None
    completed_at: int | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None
    url: str | None = None
    chunks: list[bytes] = field(default_factory=list)


ContextFactory = Callable[[VersionRules, str], RequestContext]


class BulkManager:
    """Starts bulk queries, keeps their status and results."""

    def __init__(self, store: Callable[[], Store], documents: DocumentCache) -> None:
        self._store = store
        self._documents = documents
        self.ids = IdAllocator()
        self.operations: dict[int, BulkOperation] = {}
        self.context_factory: ContextFactory | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, number: int | None) -> BulkOperation | None:
        return self.operations.get(number) if number is not None else None

    def current(self, type_: str) -> BulkOperation | None:
        """The latest operation of a type (`currentBulkOperation`)."""
        found = [op for op in self.operations.values() if op.type == type_]
        return max(found, key=lambda op: op.id) if found else None

    def cancel(self, operation: BulkOperation) -> None:
        if operation.status in ("CREATED", "RUNNING"):
            operation.status = "CANCELING"

    def start_query(
        self, query: str, rules: VersionRules, base_url: str
    ) -> tuple[BulkOperation | None, list[UserError]]:
        """Validate a bulk query and start it in the background."""
        running = [op for op in self.operations.values() if op.status in ("CREATED", "RUNNING")]
        if len(running) >= rules.concurrent_bulk_queries:
            return None, [
                UserError(
                    "OPERATION_IN_PROGRESS",
                    None,
                    "A bulk query operation for this app and shop is already in progress: "
                    f"{gid('BulkOperation', running[0].id)}.",
                )
            ]
        schema = SCHEMAS.get(rules.version)
        prepared = self._documents.get(rules.version, schema, query)
        problem = _check(prepared, schema)
        if problem is not None:
            return None, [UserError("INVALID", ["query"], problem)]
        store = self._store()
        operation = BulkOperation(self.ids.next("BulkOperation"), query, store.now())
        self.operations[operation.id] = operation
        task = asyncio.get_running_loop().create_task(
            self._run(operation, prepared, rules, base_url)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return operation, []

    async def _run(
        self,
        operation: BulkOperation,
        prepared: PreparedDocument,
        rules: VersionRules,
        base_url: str,
    ) -> None:
        assert self.context_factory is not None
        schema = SCHEMAS.get(rules.version)
        op = prepared.operation(None)
        assert isinstance(op, OperationDefinitionNode)
        operation.status = "RUNNING"
        start = 0
        while True:
            await asyncio.sleep(0)
            if operation.status == "CANCELING":
                operation.status = "CANCELED"
                break
            context = self.context_factory(rules, base_url)
            context.bulk_window = (start, start + CHUNK)
            try:
                data = Projector(schema, prepared.fragments, context).run(op)
            except GraphQLError:
                operation.status = "FAILED"
                operation.error_code = "INTERNAL_SERVER_ERROR"
                break
            lines = [orjson.dumps(row) for row in _rows(data, first=start == 0)]
            roots = sum(1 for line in lines if b'"__parentId"' not in line)
            if lines:
                operation.chunks.append(b"\n".join(lines) + b"\n")
            operation.object_count += len(lines)
            operation.root_object_count += roots
            if context.bulk_seen < CHUNK:
                operation.status = "COMPLETED"
                break
            start += CHUNK
        store = self._store()
        operation.completed_at = store.now()
        operation.file_size = sum(len(chunk) for chunk in operation.chunks)
        if operation.status == "COMPLETED" and operation.object_count:
            operation.url = f"{base_url}/_simulator/bulk/{operation.id}.jsonl"
        store.emit(BulkOperationFinished(finish_payload(operation, store)))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()


def finish_payload(operation: BulkOperation, store: Store) -> dict[str, Any]:
    """The `bulk_operations/finish` webhook body."""
    return {
        "admin_graphql_api_id": gid("BulkOperation", operation.id),
        "completed_at": iso_utc(operation.completed_at or store.now()),
        "created_at": iso_utc(operation.created_at),
        "error_code": operation.error_code.lower() if operation.error_code else None,
        "status": operation.status.lower(),
        "type": operation.type.lower(),
    }


def _check(prepared: PreparedDocument, schema: Any) -> str | None:
    if prepared.errors:
        return str(prepared.errors[0]["message"])
    op = prepared.operation(None)
    if not isinstance(op, OperationDefinitionNode):
        return str(op["message"])
    if op.operation.value != "query":
        return "Bulk queries must be queries."
    depths = list(_connection_depths(op.selection_set.selections, schema.query_type, 0))
    if not depths:
        return "Bulk queries must contain at least one connection."
    if len(depths) > MAX_CONNECTIONS:
        return f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
    if max(depths) > MAX_DEPTH:
        return f"Bulk queries cannot nest connections deeper than {MAX_DEPTH} levels."
    return None


def _connection_depths(selections: Any, parent: Any, depth: int) -> Iterator[int]:
    for node in selections:
        if not isinstance(node, FieldNode) or node.selection_set is None:
            continue
        if not isinstance(parent, GraphQLObjectType) or node.name.value not in parent.fields:
            continue
        child = get_named_type(parent.fields[node.name.value].type)
        if isinstance(child, GraphQLObjectType) and child.name.endswith("Connection"):
            yield depth + 1
            for part in node.selection_set.selections:
                if (
                    isinstance(part, FieldNode)
                    and part.name.value == "edges"
                    and part.selection_set
                ):
                    edge = get_named_type(child.fields["edges"].type)
                    assert isinstance(edge, GraphQLObjectType)
                    for inner in part.selection_set.selections:
                        if isinstance(inner, FieldNode) and inner.name.value == "node":
                            yield from _connection_depths(
                                inner.selection_set.selections if inner.selection_set else (),
                                get_named_type(edge.fields["node"].type),
                                depth + 1,
                            )
                elif (
                    isinstance(part, FieldNode)
                    and part.name.value == "nodes"
                    and part.selection_set
                ):
                    yield from _connection_depths(
                        part.selection_set.selections,
                        get_named_type(child.fields["nodes"].type),
                        depth + 1,
                    )
        else:
            yield from _connection_depths(node.selection_set.selections, child, depth)


def _is_connection(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and set(value) <= {"edges", "nodes", "pageInfo"}


def _nodes(connection: dict[str, Any]) -> list[Any]:
    if "nodes" in connection and connection["nodes"] is not None:
        return list(connection["nodes"])
    return [edge.get("node") for edge in connection.get("edges") or [] if isinstance(edge, dict)]


def _rows(data: dict[str, Any], *, first: bool) -> Iterator[dict[str, Any]]:
    for value in data.values():
        if _is_connection(value):
            for node in _nodes(value):
                yield from _object_rows(node, None, emit=True)
        elif isinstance(value, dict):
            yield from _object_rows(value, None, emit=first)


def _object_rows(obj: Any, parent_id: Any, *, emit: bool) -> Iterator[dict[str, Any]]:
    if not isinstance(obj, dict):
        return
    row: dict[str, Any] = {}
    children: list[dict[str, Any]] = []
    for key, value in obj.items():
        if _is_connection(value):
            children.append(value)
        else:
            row[key] = value
    if parent_id is not None:
        row["__parentId"] = parent_id
    if emit:
        yield row
    for child in children:
        for node in _nodes(child):
            yield from _object_rows(node, row.get("id"), emit=True)
