"""Entrypoint: the admin page's product routes: the list with its filters, the CSV export,
a product's page and the changes made from it (link, allocation, sync on or off, retry).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote, urlencode

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse

from shopify_sync.domain.allocation import describe_change
from shopify_sync.domain.commands import (
    Allocate,
    ChangeAllocation,
    Channel,
    LinkProduct,
    RetryProducts,
    SetSyncEnabled,
    SyncProduct,
)
from shopify_sync.entrypoints.web.admin_forms import (
    FILTERS,
    POLICY_FILTERS,
    AllocateForm,
    AllocationForm,
    BadInput,
    Empty,
    LinkForm,
    M,
    ProductQuery,
    ProductsQuery,
    parse,
)
from shopify_sync.entrypoints.web.admin_forms import (
    product_id as parse_product_id,
)
from shopify_sync.entrypoints.web.admin_page import PAGE_SIZE, Page, SignedPage, alarms
from shopify_sync.errors import (
    InvalidQuantity,
    InvalidRequest,
    ShopifySyncError,
    StoreError,
    UnknownProduct,
)
from shopify_sync.services import admin, handlers, linking, product_csv
from shopify_sync.services.allocation import AllocationResult, change_allocation
from shopify_sync.types import ProductId, VariantId

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("/products")
async def products(page: SignedPage) -> Response:
    query, status = page.query(ProductsQuery)
    chosen, search, policy = query.filter, query.q, query.policy
    filters = admin.ProductFilter(
        linked=chosen == "linked", unlinked=chosen == "unlinked", errors=chosen == "errors",
        disabled=chosen == "disabled", parked=chosen == "parked", search=search or None,
        policy=None if policy == "any" else policy,
        default_policy=page.c.default_allocation.policy,
    )  # fmt: skip
    found = await admin.list_products(page.c.uow, filters, after=query.after, limit=PAGE_SIZE)
    counts = dict(found.counts)
    counts["all"] = counts.get("total", 0)
    counts["unlinked"] = counts["all"] - counts.get("linked", 0)
    counts["disabled"] = counts["all"] - counts.get("enabled", 0)
    more = None
    if found.next_after:
        more = "/admin/products?" + urlencode(
            {"filter": chosen, "policy": policy, "q": search, "after": found.next_after}
        )
    return page.render(
        "products.html", status=status, page_=found, filters=FILTERS, chosen=chosen, q=search,
        counts=counts, more=more, first=query.after is not None, alarms=await alarms(page),
        policies=POLICY_FILTERS, policy=policy, default=page.c.default_allocation,
    )  # fmt: skip


@router.get("/products.csv")
async def products_csv(page: SignedPage) -> Response:
    async def rows() -> AsyncIterator[str]:
        async for _, text in product_csv.export_products(page.c.uow, page.c.default_allocation):
            yield text

    headers = {"Content-Disposition": 'attachment; filename="products.csv"'}
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/products/{product_id}")
async def product(page: SignedPage, product_id: str) -> Response:
    query, status = page.query(ProductQuery)
    return await _product_page(page, parse_product_id(product_id), query.variant_q, status)


async def _product_page(page: Page, product_id: str, query: str, status: int) -> Response:
    try:
        explanation = await admin.explain(
            product_id, page.c.uow, page.c.store, initial_source=page.c.settings.initial_source,
            default=page.c.default_allocation,
        )  # fmt: skip
    except UnknownProduct as exc:
        page.session.flash("error", f"{exc}.")
        return page.render("not_found.html", status=404)
    variants, search_error = [], None
    if query:
        try:
            variants = await linking.search_variants(page.c.store, query)
        except StoreError as exc:
            search_error = str(exc)
    log = await admin.recent_log(page.c.uow, product_id=product_id, limit=25)
    return page.render(
        "product.html", status=status, x=explanation, p=explanation.product, variant_q=query,
        variants=variants, search_error=search_error, log=log,
    )  # fmt: skip


async def _act(
    page: Page,
    product_id: str,
    action: Callable[[M], Awaitable[str]],
    model: type[M] = Empty,  # type: ignore[assignment]  # the forms with only their token
    refused: tuple[type[Exception], ...] = (),
) -> Response:
    """Run one change from a product's page and come back to it with the outcome; a
    malformed field, or a value the use case refuses (``refused``), shows the product's
    page again with what was wrong (400), nothing changed."""
    data = await page.form()
    product_id = parse_product_id(product_id)
    try:
        form = parse(model, data)
    except BadInput as exc:
        page.session.flash("error", str(exc))
        return await _product_page(page, product_id, "", 400)
    try:
        page.session.flash("ok", await action(form))
        page.state.worker.wake()
    except refused as exc:
        page.session.flash("error", f"{exc} (nothing changed)")
        return await _product_page(page, product_id, "", 400)
    except (ShopifySyncError, ValueError) as exc:
        page.session.flash("error", str(exc))
    return page.redirect(f"/admin/products/{quote(product_id)}")


@router.post("/products/{product_id}/link")
async def link(page: SignedPage, product_id: str) -> Response:
    async def action(form: LinkForm) -> str:
        cmd = LinkProduct(ProductId(product_id), VariantId(form.variant_id))
        result = await linking.link_product(cmd, page.c.uow, page.c.store, page.c.clock)
        return f"Linked to {result.variant.title} (SKU {result.variant.sku or '-'})."

    return await _act(page, product_id, action, LinkForm)


@router.post("/products/{product_id}/unlink")
async def unlink(page: SignedPage, product_id: str) -> Response:
    async def action(form: Empty) -> str:
        await linking.unlink_product(product_id, page.c.uow, page.c.clock)
        return "Unlinked."

    return await _act(page, product_id, action)


@router.post("/products/{product_id}/allocate")
async def allocate(page: SignedPage, product_id: str) -> Response:
    async def action(form: AllocateForm) -> str:
        to: Channel | None = form.to
        cmd = Allocate(
            ProductId(product_id), form.b2c, form.b2b, form.move, to, push=False,
            reference="admin page",
        )  # fmt: skip
        result = await admin.allocate(cmd, page.c.uow, page.c.engine, page.c.clock)
        a = result.after
        return f"Allocation saved: B2B {a.b2b_stock:,}, B2C {a.b2c_stock:,}."

    return await _act(page, product_id, action, AllocateForm)


@router.post("/products/{product_id}/allocation")
async def allocation(page: SignedPage, product_id: str) -> Response:
    """Change the product's allocation policy, buffer or cap; waits for a write in flight."""

    async def action(form: AllocationForm) -> str:
        if form.no_cap and form.cap is not None:
            raise InvalidRequest("give a cap or tick “no cap”, not both")
        cmd = ChangeAllocation(
            ProductId(product_id), form.policy, form.buffer, form.cap, clear_cap=form.no_cap,
            reference="admin page", push=False,
        )  # fmt: skip
        result = await change_allocation(
            cmd, page.c.uow, page.c.engine, page.c.clock, page.c.default_allocation
        )
        if not result.changed:
            return f"Allocation unchanged: {result.explanation}."
        return f"Allocation saved: {allocation_outcome(result)}"

    return await _act(page, product_id, action, AllocationForm, (InvalidRequest, InvalidQuantity))


def allocation_outcome(result: AllocationResult) -> str:
    """What a change of allocation did, in one line: the change, the units moved, the
    quantity Shopify is to show and why."""
    moved = [
        f"{name} {delta:+,}"
        for name, delta in (("b2b_stock", result.b2b_moved), ("b2c_stock", result.b2c_moved))
        if delta
    ]
    units = f"; units moved: {', '.join(moved)}" if moved else "; no units moved"
    return f"{describe_change(result.old, result.new)}{units}. {result.explanation}."


@router.post("/products/{product_id}/enable")
async def enable(page: SignedPage, product_id: str) -> Response:
    return await _enable(page, product_id, True)


@router.post("/products/{product_id}/disable")
async def disable(page: SignedPage, product_id: str) -> Response:
    return await _enable(page, product_id, False)


async def _enable(page: Page, product_id: str, on: bool) -> Response:
    async def action(form: Empty) -> str:
        cmd = SetSyncEnabled(ProductId(product_id), on, push=False)
        await admin.set_sync_enabled(cmd, page.c.uow, page.c.engine, page.c.clock)
        return "Sync enabled." if on else "Sync disabled."

    return await _act(page, product_id, action)


@router.post("/products/{product_id}/sync")
async def sync_now(page: SignedPage, product_id: str) -> Response:
    async def action(form: Empty) -> str:
        cmd = SyncProduct(ProductId(product_id), source="admin")
        page.c.refuse_wrong_location()
        r = await handlers.sync_product(cmd, page.c.uow, page.c.engine)
        if r.error:
            raise ValueError(f"Sync {r.action}: {r.error}")
        return f"Synced: {r.action}; ours {r.b2c_stock}, Shopify {r.shopify_available}."

    return await _act(page, product_id, action)


@router.post("/products/{product_id}/retry")
async def retry_one(page: SignedPage, product_id: str) -> Response:
    async def action(form: Empty) -> str:
        cmd = RetryProducts(ProductId(product_id), push=False)
        await admin.retry(cmd, page.c.uow, page.c.engine, page.c.clock)
        return "Failures forgotten; syncing again now."

    return await _act(page, product_id, action)
