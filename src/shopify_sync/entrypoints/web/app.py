"""Entrypoint: the FastAPI app: sync endpoints, Shopify webhooks, health.

``create_app(settings)`` builds everything in the lifespan (nothing at import time):
the container, migrations, and the background worker.
"""

from __future__ import annotations

import gc
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shopify_sync import bootstrap
from shopify_sync.bootstrap import Container
from shopify_sync.config import Settings, required
from shopify_sync.domain.commands import ReconcileAll, SyncProduct
from shopify_sync.entrypoints.web import admin, monitoring, webhooks
from shopify_sync.entrypoints.web.errors import exception_handlers
from shopify_sync.entrypoints.web.state import AppState, shopify_status, state_of
from shopify_sync.entrypoints.worker import WebhookWatch, Worker
from shopify_sync.errors import StorageError
from shopify_sync.services import handlers, webhook_health
from shopify_sync.types import ProductId


class Unauthorized(Exception):
    """Raised when the bearer token is missing or wrong."""


def require_token(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Check ``Authorization: Bearer $SYNC_API_TOKEN`` in constant time."""
    settings = state_of(request).container.settings
    expected = required(settings.sync_api_token, "SYNC_API_TOKEN").get_secret_value()
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        raise Unauthorized()


class SyncResult(BaseModel):
    """The answer of ``POST /sync/{product_id}``."""

    product_id: str
    action: str
    b2c_stock: int | None
    shopify_available: int | None
    error: str | None = None


def create_app(
    settings: Settings,
    *,
    builder: Callable[[Settings], Awaitable[Container]] = bootstrap.build,
    run_worker: bool = True,
) -> FastAPI:
    """Build the web app; ``builder`` makes the container in the lifespan (tests swap it)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = await builder(settings)
        worker = Worker(container)
        app.state.shopify_sync = AppState(container, worker)
        if run_worker:
            worker.start()
        # What start-up built lives as long as the app: kept out of the collector's full
        # passes, which otherwise walk it all (about 50 ms, a stalled request each time).
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await worker.stop(grace_s=settings.shutdown_grace_s)
            await container.aclose()

    app = FastAPI(
        title="shopify-sync",
        version="0.1.0",
        summary="Two-way stock sync between a B2B database and a Shopify store.",
        lifespan=lifespan,
        exception_handlers=exception_handlers(),
    )

    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse(
            {"error": "Unauthorized", "detail": "missing or wrong bearer token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.post("/sync/all", dependencies=[Depends(require_token)], tags=["sync"])
    async def sync_all(
        request: Request, dry_run: Annotated[bool, Query()] = False
    ) -> dict[str, Any]:
        """Reconcile every enabled, linked product; ``?dry_run=true`` only reports the diff."""
        c = state_of(request).container
        c.refuse_wrong_location()
        if dry_run:
            plan = await handlers.plan_reconcile(c.uow, c.engine, c.default_allocation)
            return {
                "dry_run": True,
                "differ": len(plan),
                "changes": [
                    {
                        "product_id": p.product_id,
                        "sku": p.sku,
                        "ours": p.ours,
                        "shopify": p.shopify,
                        "base": p.base,
                        "merged": p.merged,
                        "write_to_shopify": p.write,
                        "change_to_ours": p.our_change,
                        "problem": p.problem,
                    }
                    for p in plan
                ],
            }
        summary = await handlers.reconcile_all(
            ReconcileAll(source="api:sync-all"), c.uow, c.engine, c.clock
        )
        return {
            "dry_run": False,
            "checked": summary.checked,
            "changed": summary.changed,
            "failed": summary.failed,
            "duration_s": summary.duration_s,
        }

    @app.post(
        "/sync/{product_id}",
        dependencies=[Depends(require_token)],
        tags=["sync"],
        response_model=SyncResult,
        responses={
            401: {"description": "missing or wrong token"},
            404: {"description": "unknown product"},
            409: {"description": "not linked, or sync disabled"},
            502: {"description": "Shopify failed; sync_error recorded, retry scheduled"},
        },
    )
    async def sync_one(request: Request, product_id: str) -> JSONResponse:
        """Merge one product with Shopify and push the result now."""
        c = state_of(request).container
        c.refuse_wrong_location()
        result = await handlers.sync_product(SyncProduct(ProductId(product_id)), c.uow, c.engine)
        body = SyncResult(
            product_id=result.product_id,
            action=result.action,
            b2c_stock=result.b2c_stock,
            shopify_available=result.shopify_available,
            error=result.error,
        )
        status = 502 if result.action in ("failed", "skipped") else 200
        return JSONResponse(body.model_dump(), status_code=status)

    @app.get("/health", tags=["monitoring"])
    async def health(request: Request) -> JSONResponse:
        """Database and Shopify status, the last reconcile, products with errors."""
        state = state_of(request)
        report = await handlers.health(state.container.uow)
        shopify = await shopify_status(state)
        last = report.last_reconcile
        alarm = await _webhook_alarm(state) if report.database_ok else None
        body = {
            "status": ("degraded" if alarm else "ok") if report.database_ok else "unavailable",
            "time": state.container.clock.now().isoformat(),
            "database": "ok" if report.database_ok else f"error: {report.database_error}",
            "shopify": shopify,
            "products": report.products,
            "products_with_errors": report.products.get("errors", 0),
            "writes_awaiting_answer": report.in_flight_writes,
            "last_reconcile": None
            if last is None
            else {
                "started_at": last.started_at.isoformat(),
                "finished_at": last.finished_at.isoformat() if last.finished_at else None,
                "checked": last.checked,
                "changed": last.changed,
                "failed": last.failed,
                "error": last.error,
            },
            "webhook_subscriptions": _webhook_state(state.worker.webhooks),
            "webhooks": f"error: {alarm}" if alarm else "ok",
            "worker_error": state.worker.last_error,
        }
        return JSONResponse(body, status_code=200 if report.database_ok else 503)

    webhooks.register(app)
    monitoring.register(app)
    admin.register(app)
    return app


def _webhook_state(watch: WebhookWatch | None) -> dict[str, Any]:
    """The last check of our subscriptions by this process, for ``/health``."""
    if watch is None:
        return {"watched": False, "detail": "PUBLIC_URL is not set: subscriptions not watched"}
    check = watch.check
    body: dict[str, Any] = {
        "watched": True,
        "address": watch.address,
        "checked_at": watch.checked_at.isoformat() if watch.checked_at else None,
        "error": watch.error,
    }
    repair = watch.repair
    body["last_repair"] = (
        None
        if repair is None or watch.repaired_at is None
        else {
            "at": watch.repaired_at.isoformat(),
            "created": [{"topic": s.topic, "address": s.uri} for s in repair.created],
            "removed": [{"topic": s.topic, "address": s.uri} for s in repair.deleted],
        }
    )
    if check is None:
        return body | {"state": "error" if watch.error else "not checked yet"}
    return body | {
        "state": "ok" if check.healthy else "not in order",
        "topics": sorted(sub.topic for sub in check.ok),
        "missing": [topic for topic, _ in check.missing],
        "wrong": [{"topic": s.topic, "address": s.uri} for s in check.wrong],
    }


async def _webhook_alarm(state: AppState) -> str | None:
    """Why webhooks look refused for a wrong secret (counts shared by every process)."""
    c = state.container
    await c.refusals.flush()
    try:
        return await webhook_health.signature_alarm(c.uow, c.clock)
    except StorageError:
        return None
