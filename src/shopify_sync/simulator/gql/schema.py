"""Load Shopify's Admin GraphQL schema per version (lazily, once per process) and attach resolvers.

Resolvers take everything from `info.context`, so one schema object serves every app instance.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

import orjson
from graphql import GraphQLObjectType, GraphQLSchema, build_client_schema, extend_schema, parse

from shopify_sync.simulator.config import SUPPORTED_VERSIONS

Resolver = Callable[..., Any]
ResolverMap = Mapping[str, Mapping[str, Resolver]]

_IDEMPOTENT_SDL = "directive @idempotent(key: String!) on FIELD"


def load_schema(version: str) -> GraphQLSchema:
    """Build the executable schema of one version from the packaged introspection file.

    Versions before 2026-01 do not declare `@idempotent`; it is added so that new-style
    documents validate (the version rules then decide what the directive means).
    """
    path = resources.files("shopify_sync.simulator") / "schemas" / f"admin_{version}.json.gz"
    introspection = orjson.loads(gzip.decompress(path.read_bytes()))
    schema = build_client_schema(introspection["data"])
    if schema.get_directive("idempotent") is None:
        schema = extend_schema(schema, parse(_IDEMPOTENT_SDL), assume_valid=True)
    return schema


class SchemaRegistry:
    """Schemas by version, loaded on first use and kept; safe to use from several threads."""

    def __init__(self, resolvers: Callable[[], ResolverMap]) -> None:
        self._resolvers = resolvers
        self._schemas: dict[str, GraphQLSchema] = {}
        self._lock = threading.Lock()

    def get(self, version: str) -> GraphQLSchema:
        """Return the schema of a supported version, loading it if needed."""
        schema = self._schemas.get(version)
        if schema is not None:
            return schema
        with self._lock:
            schema = self._schemas.get(version)
            if schema is None:
                schema = load_schema(version)
                attach(schema, self._resolvers())
                self._schemas[version] = schema
        return schema

    def cached(self, version: str) -> GraphQLSchema | None:
        """The schema of a version if it is loaded already."""
        return self._schemas.get(version)

    def warm(self) -> None:
        """Load every supported version (run in a background thread at start-up)."""
        for version in SUPPORTED_VERSIONS:
            self.get(version)


def attach(schema: GraphQLSchema, resolvers: ResolverMap) -> None:
    """Set our resolver on each implemented field that exists in this version's schema."""
    for type_name, fields in resolvers.items():
        type_ = schema.type_map.get(type_name)
        if not isinstance(type_, GraphQLObjectType):
            continue
        for field_name, resolve in fields.items():
            field = type_.fields.get(field_name)
            if field is not None:
                field.resolve = resolve
