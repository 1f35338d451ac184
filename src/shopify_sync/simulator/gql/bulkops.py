"""Field resolvers of `BulkOperation`."""

from __future__ import annotations

from typing import Any

from shopify_sync.simulator.bulk import BulkOperation
from shopify_sync.simulator.gql.objects import TYPENAMES
from shopify_sync.simulator.ids import gid
from shopify_sync.simulator.timefmt import iso_utc

TYPENAMES[BulkOperation] = "BulkOperation"

BULK_RESOLVERS: dict[str, dict[str, Any]] = {
    "BulkOperation": {
        "id": lambda o, i: gid("BulkOperation", o.id),
        "status": lambda o, i: o.status,
        "type": lambda o, i: o.type,
        "query": lambda o, i: o.query,
        "errorCode": lambda o, i: o.error_code,
        "createdAt": lambda o, i: iso_utc(o.created_at),
        "completedAt": lambda o, i: iso_utc(o.completed_at) if o.completed_at else None,
        "objectCount": lambda o, i: str(o.object_count),
        "rootObjectCount": lambda o, i: str(o.root_object_count),
        "fileSize": lambda o, i: str(o.file_size) if o.file_size is not None else None,
        "url": lambda o, i: o.url,
        "partialDataUrl": lambda o, i: None,
    }
}
