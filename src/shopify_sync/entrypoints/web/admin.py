"""Entrypoint: the admin page under ``/admin``: server-rendered, usable without JavaScript.

Sign-in with ``ADMIN_PASSWORD`` or ``SYNC_API_TOKEN`` gives a signed session cookie; every
form carries the session's CSRF token and a POST without it is refused (403). Each route
builds a command, calls one use case, and renders or redirects with a message (Post/Redirect/
Get). Changes are pushed by the background worker, woken at once. This module holds the
sign-in, reconcile, log, errors and setup pages; the product pages are in
:mod:`.admin_products`, what every page shares (session, rendering, forms) in :mod:`.admin_page`.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from shopify_sync import bootstrap
from shopify_sync.config import required
from shopify_sync.domain.commands import ReconcileAll, RetryProducts
from shopify_sync.entrypoints.web import admin_products, dashboard
from shopify_sync.entrypoints.web.admin_forms import (
    BadInput,
    DashboardQuery,
    LoginForm,
    LoginQuery,
    LogQuery,
    ReconcileQuery,
    RetryForm,
    ZoneForm,
    parse,
    ticked,
)
from shopify_sync.entrypoints.web.admin_page import (
    HERE,
    PAGE_SIZE,
    CsrfRefused,
    Page,
    SignedPage,
    SignInRequired,
    alarms,
    bad_input,
    refused,
    sign_in_first,
)
from shopify_sync.entrypoints.web.session import Session, password_matches, valid_zone
from shopify_sync.errors import ShopifySyncError, StoreError
from shopify_sync.services import access, admin, handlers
from shopify_sync.types import ProductId

router = APIRouter(prefix="/admin", include_in_schema=False)


def register(app: FastAPI) -> None:
    """Add the admin pages and their stylesheet to ``app``."""
    app.include_router(router)
    app.include_router(admin_products.router)
    app.mount("/admin/static", StaticFiles(directory=HERE / "static"), name="admin-static")
    app.add_exception_handler(SignInRequired, sign_in_first)
    app.add_exception_handler(CsrfRefused, refused)
    app.add_exception_handler(BadInput, bad_input)


# -- sign-in -------------------------------------------------------------------------------


@router.get("")
async def home(page: SignedPage) -> Response:
    """The landing page: the dashboard."""
    query, status = page.query(DashboardQuery)
    response = await dashboard.render(page, query.window)
    response.status_code = status
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    page = Page(request)
    query, status = page.query(LoginQuery)
    return page.render("login.html", status=status, next=_local(query.next))


@router.post("/login")
async def login(request: Request) -> Response:
    page = Page(request)
    data = await page.form()
    try:
        form = parse(LoginForm, data)
    except BadInput as exc:
        page.session.flash("error", str(exc))
        return page.render("login.html", status=400, next=_local(data.get("next", "")[:2000]))
    settings = page.c.settings
    accepted = [required(settings.sync_api_token, "SYNC_API_TOKEN").get_secret_value()]
    if settings.admin_password is not None:
        accepted.append(settings.admin_password.get_secret_value())
    client = request.client.host if request.client else "unknown"
    attempt = await access.sign_in(
        client, password_matches(form.password, accepted), page.c.uow, page.c.clock,
        page.c.metrics, timedelta(seconds=settings.admin_session_idle_s),
    )  # fmt: skip
    if attempt.outcome == "throttled":
        page.session.flash(
            "error",
            f"Too many failed sign-ins: try again in {attempt.retry_after_s} s "
            "(nothing was checked).",
        )
        response = page.render("login.html", status=429, next=_local(form.next))
        response.headers["Retry-After"] = str(attempt.retry_after_s)
        return response
    if attempt.outcome == "failed":
        page.session.flash("error", "Wrong password.")
        return page.render("login.html", status=401, next=_local(form.next))
    page.session = Session(signed_in=True, sid=attempt.session_id, zone=valid_zone(form.tz))
    return page.redirect(_local(form.next))


@router.post("/logout")
async def logout(request: Request) -> Response:
    page = Page(request)
    await page.form()
    if page.session.sid is not None:
        await access.sign_out(page.session.sid, page.c.uow)
    page.session = Session()
    return page.redirect("/admin/login")


@router.post("/zone")
async def set_zone(page: SignedPage) -> Response:
    form = parse(ZoneForm, await page.form())
    page.session.zone = valid_zone(form.tz)
    return page.redirect(_local(form.next))


def _local(url: str) -> str:
    """Only a path on this site (never an open redirect)."""
    return url if url.startswith("/admin") and "//" not in url else "/admin"


# -- products ------------------------------------------------------------------------------


# -- reconcile, log, errors ----------------------------------------------------------------


@router.get("/reconcile")
async def reconcile_page(page: SignedPage) -> Response:
    query, status = page.query(ReconcileQuery)
    plan, error = None, None
    if query.preview:
        try:
            plan = await handlers.plan_reconcile(
                page.c.uow, page.c.engine, page.c.default_allocation
            )
        except StoreError as exc:
            error = str(exc)
    last = await handlers.last_reconcile(page.c.uow)
    return page.render("reconcile.html", status=status, plan=plan, error=error, last=last)


@router.post("/reconcile")
async def reconcile(page: SignedPage) -> Response:
    await page.form()
    try:
        page.c.refuse_wrong_location()
        s = await handlers.reconcile_all(
            ReconcileAll(source="api:admin"), page.c.uow, page.c.engine, page.c.clock
        )
        kind = "error" if s.failed else "ok"
        page.session.flash(
            kind, f"Reconciled: {s.checked:,} checked, {s.changed:,} changed, {s.failed:,} failed "
            f"in {s.duration_s:.2f} s.",
        )  # fmt: skip
    except ShopifySyncError as exc:
        page.session.flash("error", f"Reconcile failed: {exc}")
    return page.redirect("/admin/reconcile")


@router.get("/log")
async def log_page(page: SignedPage) -> Response:
    query, status = page.query(LogQuery)
    product_id = query.product
    entries = await admin.recent_log(
        page.c.uow, product_id=product_id, limit=PAGE_SIZE, before_id=query.before
    )
    more = None
    if len(entries) == PAGE_SIZE:
        more = "/admin/log?" + urlencode({"product": product_id or "", "before": entries[-1].id})
    return page.render("log.html", status=status, entries=entries, product_id=product_id, more=more)


@router.get("/errors")
async def errors_page(page: SignedPage) -> Response:
    return await _errors_page(page, 200)


async def _errors_page(page: Page, status: int) -> Response:
    found = await admin.products_with_errors(page.c.uow)
    return page.render("errors.html", status=status, products=found, alarms=await alarms(page))


@router.post("/errors/retry")
async def retry_errors(page: SignedPage) -> Response:
    """Retry the products ticked on the Errors page, or every product in error."""
    form = await page.form()
    try:
        scope = parse(RetryForm, form).scope
        chosen = ticked(
            [v for v in (await page.request.form()).getlist("product_id") if isinstance(v, str)]
        )
    except BadInput as exc:
        page.session.flash("error", str(exc))
        return await _errors_page(page, 400)
    if scope == "errors":
        cmd = RetryProducts(errors=True, push=False)
        what = "product(s) with errors"
    else:
        if not chosen:
            page.session.flash("error", "Tick the products to retry first.")
            return page.redirect("/admin/errors")
        cmd = RetryProducts(product_ids=tuple(ProductId(v) for v in chosen), push=False)
        what = "selected product(s)"
    try:
        report = await admin.retry(cmd, page.c.uow, page.c.engine, page.c.clock)
    except ShopifySyncError as exc:
        page.session.flash("error", f"Nothing retried: {exc}")
        return page.redirect("/admin/errors")
    page.state.worker.wake()
    page.session.flash("ok", f"Retrying {len(report.retried):,} {what}.")
    return page.redirect("/admin/errors")


@router.get("/setup")
async def setup_page(page: SignedPage) -> Response:
    """Every check of `shopify-sync doctor`, run now."""
    report = await bootstrap.doctor_for(page.c).run()
    return page.render("setup.html", report=report, titles=SETUP_TITLES)


SETUP_TITLES = {
    "credentials": "Shopify accepts our credentials",
    "api_version": "API version supported",
    "scopes": "Granted scopes",
    "location": "Location",
    "webhooks": "Webhook subscriptions",
    "database": "Database",
    "inventory_items": "Linked inventory items",
    "product_errors": "Products in error",
    "last_reconcile": "Last reconcile",
}


@router.post("/errors/retry-parked")
async def retry_parked(page: SignedPage) -> Response:
    await page.form()
    report = await admin.retry(
        RetryProducts(parked=True, push=False), page.c.uow, page.c.engine, page.c.clock
    )
    page.state.worker.wake()
    page.session.flash("ok", f"Retrying {len(report.retried):,} parked product(s).")
    return page.redirect("/admin/errors")
