"""Adapter: whole-catalogue reads through one Shopify bulk operation each.

Start a bulk query, poll it (``bulkOperation(id:)``, never the deprecated
``currentBulkOperation``) with a growing interval on the injected clock, then stream the
JSONL result line by line (never the whole file in memory), each line mapped by the caller's
parser. The result URL is a pre-signed storage link: it is fetched without our access
token. Two reads use it: the location's levels (the reconcile's snapshot) and the store's
variants (auto-linking).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
import structlog

from shopify_sync.adapters.shopify import documents
from shopify_sync.adapters.shopify.envelope import MalformedResponse
from shopify_sync.adapters.shopify.payloads import (
    BulkOperation,
    polled_bulk_operation,
    started_bulk_operation,
)
from shopify_sync.adapters.shopify.transport import GraphQLTransport, translate_transport_errors
from shopify_sync.adapters.shopify.version import ApiFeatures
from shopify_sync.errors import StoreRejected, StoreUnavailable
from shopify_sync.services.ports import Clock

_log = structlog.get_logger(__name__)
_Row = TypeVar("_Row")

_RUNNING = frozenset({"CREATED", "RUNNING"})


@dataclass(frozen=True, slots=True)
class BulkPolling:
    """How a bulk operation is waited for: first interval, growth, ceiling, and give-up time.

    The ceiling is low on purpose: between the operation's completion and our next poll the
    reconcile only waits, with a full bucket (with a 30 s ceiling an operation done after
    20 s was seen at 28 s); a poll costs about 1 point of the 100 restored every second.
    """

    first_s: float = 0.25
    factor: float = 1.5
    max_s: float = 2.0
    timeout_s: float = 3600.0


DEFAULT_BULK_POLLING = BulkPolling()


class BulkQuery:
    """Runs bulk queries and yields their JSONL rows, each mapped by a parser."""

    def __init__(
        self,
        transport: GraphQLTransport,
        *,
        http: httpx.AsyncClient,
        clock: Clock,
        features: ApiFeatures,
        polling: BulkPolling = DEFAULT_BULK_POLLING,
    ) -> None:
        self._transport = transport
        self._http = http
        self._clock = clock
        self._features = features
        self._polling = polling

    async def rows(self, query: str, parse: Callable[[str], _Row]) -> AsyncIterator[_Row]:
        """
        Run ``query`` as one bulk operation and yield each line of its result, parsed.

        Args:
            query: the bulk query (one top-level connection).
            parse: maps one JSONL line; raises ``MalformedResponse`` for a line it cannot read.

        Raises:
            StoreUnavailable: the operation failed, expired, was cancelled, did not finish in
                time, or its result could not be read to the end.
            StoreRejected: Shopify refused the query (invalid, access denied).
        """
        started = await self._start(query)
        finished = await self._wait(started)
        if finished.url is None:
            # A completed operation without a URL found no objects at all.
            return
        async for row in self._stream(finished.url, parse):
            yield row

    async def _start(self, query: str) -> BulkOperation:
        operation = documents.run_bulk_query(self._features, query)
        answer = started_bulk_operation(await self._transport.execute(operation))
        if isinstance(answer, BulkOperation):
            _log.info("shopify_bulk_started", bulk_operation=answer.id)
            return answer
        first = answer[0]
        if first.code == "INVALID":
            raise StoreRejected(f"RunBulkQuery: Shopify refused the bulk query: {first.message}")
        # OPERATION_IN_PROGRESS, LIMIT_REACHED: another bulk query runs; try again later.
        raise StoreUnavailable(f"RunBulkQuery: cannot start now ({first.code}): {first.message}")

    async def _wait(self, started: BulkOperation) -> BulkOperation:
        polling = self._polling
        interval = polling.first_s
        waited = 0.0
        current = started
        while current.status in _RUNNING:
            if waited >= polling.timeout_s:
                raise StoreUnavailable(
                    f"bulk operation {started.id} still {current.status} after {waited:.0f} s"
                )
            await self._clock.sleep(interval)
            waited += interval
            interval = min(interval * polling.factor, polling.max_s)
            polled = polled_bulk_operation(
                await self._transport.execute(
                    documents.poll_bulk_operation(self._features, started.id)
                )
            )
            if polled is None:
                raise StoreUnavailable(f"bulk operation {started.id} is unknown to Shopify")
            current = polled
        _log.info(
            "shopify_bulk_finished",
            bulk_operation=current.id,
            status=current.status,
            error_code=current.error_code,
            object_count=current.object_count,
        )
        if current.status == "COMPLETED":
            return current
        if current.error_code == "ACCESS_DENIED":
            raise StoreRejected(f"bulk operation {current.id} failed: access denied")
        raise StoreUnavailable(
            f"bulk operation {current.id} ended {current.status} ({current.error_code})"
        )

    async def _stream(self, url: str, parse: Callable[[str], _Row]) -> AsyncIterator[_Row]:
        rows = 0
        with translate_transport_errors(url):
            async with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise StoreUnavailable(
                        f"bulk result: HTTP {response.status_code} from the result URL"
                    )
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    try:
                        row = parse(line)
                    except MalformedResponse as exc:
                        raise StoreUnavailable(f"bulk result line {rows + 1}: {exc}") from exc
                    rows += 1
                    yield row
        _log.info("shopify_bulk_streamed", rows=rows)
