"""Entrypoint: the admin page under ``/admin``: server-rendered, usable without JavaScript.

Sign-in with ``ADMIN_PASSWORD`` or ``SYNC_API_TOKEN`` gives a signed session cookie; every
form carries the session's CSRF token and a POST without it is refused (403). Each route
builds a command, calls one use case, and renders or redirects with a message (Post/Redirect/
Get). Changes are pushed by the background worker, woken at once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from shopify_sync import bootstrap
from shopify_sync.bootstrap import Container
from shopify_sync.config import required
from shopify_sync.domain.commands import (
    Allocate,
    Channel,
    LinkProduct,
    ReconcileAll,
    RetryProducts,
    SetSyncEnabled,
    SyncProduct,
)
from shopify_sync.entrypoints.web import dashboard
from shopify_sync.entrypoints.web.admin_forms import (
    FILTERS,
    AllocateForm,
    BadInput,
    DashboardQuery,
    Empty,
    LinkForm,
    LoginForm,
    LoginQuery,
    LogQuery,
    M,
    ProductQuery,
    ProductsQuery,
    ReconcileQuery,
    RetryForm,
    ZoneForm,
    parse,
    ticked,
)
from shopify_sync.entrypoints.web.admin_forms import (
    product_id as parse_product_id,
)
from shopify_sync.entrypoints.web.session import (
    Session,
    SessionCodec,
    password_matches,
    valid_zone,
)
from shopify_sync.entrypoints.web.state import AppState, state_of
from shopify_sync.errors import ShopifySyncError, StoreError, UnknownProduct
from shopify_sync.services import access, admin, handlers, linking, product_csv, webhook_health
from shopify_sync.types import ProductId, VariantId

HERE = Path(__file__).parent
PAGE_SIZE = 50
COMMON_ZONES = (
    "UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York",
    "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney",
)  # fmt: skip

_UTC_TIME = re.compile(r"\b(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC\b")
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/admin", include_in_schema=False)


def register(app: FastAPI) -> None:
    """Add the admin pages and their stylesheet to ``app``."""
    app.include_router(router)
    app.mount("/admin/static", StaticFiles(directory=HERE / "static"), name="admin-static")
    app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_exception_handler(CsrfRefused, _refused)
    app.add_exception_handler(BadInput, _bad_input)


class Page:
    """One request to the admin page: the app's state and the operator's session."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.state: AppState = state_of(request)
        settings = self.state.container.settings
        token = required(settings.sync_api_token, "SYNC_API_TOKEN")
        self.codec = SessionCodec(token.get_secret_value())
        self.session = self.codec.load(request)

    @property
    def c(self) -> Container:
        """The container (uow, store, engine, clock, settings)."""
        return self.state.container

    def when(self, moment: datetime | None) -> str:
        """A time in the operator's zone."""
        if moment is None:
            return ""
        return f"{moment.astimezone(self.session.tz):%Y-%m-%d %H:%M:%S %Z}"

    def local(self, text: str | None) -> str:
        """``text`` with each ``YYYY-MM-DD HH:MM:SS UTC`` in it (error texts are stored so)
        shown in the operator's zone, so that one page never mixes zones."""
        if not text:
            return ""

        def convert(found: re.Match[str]) -> str:
            moment = datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            return self.when(moment)

        return _UTC_TIME.sub(convert, text)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        """The page, with the session written back."""
        response = templates.TemplateResponse(
            self.request,
            template,
            {
                "session": self.session,
                "flashes": self.session.take_flashes(),
                "when": self.when,
                "local": self.local,
                "zones": COMMON_ZONES,
                "num": lambda n: "" if n is None else f"{n:,}",
                "status_of": admin.product_status,
                **context,
            },
            status_code=status,
        )
        return self.codec.save(self.session, self.request, response)

    def redirect(self, url: str) -> Response:
        """Go to ``url`` (after a POST), with the session written back."""
        return self.codec.save(self.session, self.request, RedirectResponse(url, status_code=303))

    async def form(self) -> dict[str, str]:
        """The posted form, once its CSRF token is checked.

        Raises:
            CsrfRefused: the token is missing or not this session's.
        """
        form = await self.request.form()
        data = {k: v for k, v in form.items() if isinstance(v, str)}
        if not password_matches(data.get("csrf", ""), [self.session.csrf]):
            raise CsrfRefused()
        return data

    def query(self, model: type[M]) -> tuple[M, int]:
        """The query parameters as ``model``; malformed ones are dropped with a message
        and the page is shown without them (status 400)."""
        try:
            return parse(model, self.request.query_params), 200
        except BadInput as exc:
            self.session.flash("error", f"{exc} (ignored)")
            return model(), 400


class CsrfRefused(Exception):
    """Raised when a form comes without this session's CSRF token."""


class SignInRequired(Exception):
    """Raised when a page needs a signed-in operator."""

    def __init__(self, page: Page) -> None:
        super().__init__("sign in first")
        self.page = page


async def signed_page(request: Request) -> Page:
    """The request's page, for a signed-in operator only.

    Raises:
        SignInRequired: nobody is signed in (the handler redirects to the sign-in page).
    """
    page = Page(request)
    session = page.session
    if not session.signed_in or session.sid is None:
        raise SignInRequired(page)
    idle = timedelta(seconds=page.c.settings.admin_session_idle_s)
    if not await access.session_alive(session.sid, page.c.uow, page.c.clock, idle):
        page.session = Session(zone=session.zone)
        page.session.flash(
            "error",
            f"Your session has ended (signed out, or unused for {idle.seconds // 60} minutes): "
            "sign in again.",
        )
        raise SignInRequired(page)
    return page


SignedPage = Annotated[Page, Depends(signed_page)]


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/admin/products"
    return exc.page.redirect(f"/admin/login?next={quote(target)}")


async def _refused(request: Request, exc: Exception) -> Response:
    return Page(request).render("refused.html", status=403)


async def _bad_input(request: Request, exc: Exception) -> Response:
    """A malformed value no page of its own can show again: this page says what was wrong."""
    page = Page(request)
    page.session.flash("error", str(exc))
    return page.render("bad_request.html", status=400)


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


@router.get("/products")
async def products(page: SignedPage) -> Response:
    query, status = page.query(ProductsQuery)
    chosen, search = query.filter, query.q
    filters = admin.ProductFilter(
        linked=chosen == "linked", unlinked=chosen == "unlinked", errors=chosen == "errors",
        disabled=chosen == "disabled", parked=chosen == "parked", search=search or None,
    )  # fmt: skip
    found = await admin.list_products(page.c.uow, filters, after=query.after, limit=PAGE_SIZE)
    counts = dict(found.counts)
    counts["all"] = counts.get("total", 0)
    counts["unlinked"] = counts["all"] - counts.get("linked", 0)
    counts["disabled"] = counts["all"] - counts.get("enabled", 0)
    more = None
    if found.next_after:
        more = "/admin/products?" + urlencode(
            {"filter": chosen, "q": search, "after": found.next_after}
        )
    return page.render(
        "products.html", status=status, page_=found, filters=FILTERS, chosen=chosen, q=search,
        counts=counts, more=more, first=query.after is not None, alarms=await _alarms(page),
    )  # fmt: skip


@router.get("/products.csv")
async def products_csv(page: SignedPage) -> Response:
    async def rows() -> AsyncIterator[str]:
        async for _, text in product_csv.export_products(page.c.uow):
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
            product_id, page.c.uow, page.c.store, initial_source=page.c.settings.initial_source
        )
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
) -> Response:
    """Run one change from a product's page and come back to it with the outcome; a
    malformed field shows the product's page again with what was wrong (400)."""
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


# -- reconcile, log, errors ----------------------------------------------------------------


@router.get("/reconcile")
async def reconcile_page(page: SignedPage) -> Response:
    query, status = page.query(ReconcileQuery)
    plan, error = None, None
    if query.preview:
        try:
            plan = await handlers.plan_reconcile(page.c.uow, page.c.engine)
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
    return page.render("errors.html", status=status, products=found, alarms=await _alarms(page))


async def _alarms(page: Page) -> list[str]:
    """What is wrong beyond single products (a wrong webhook secret), shown atop the page."""
    await page.c.refusals.flush()
    alarm = await webhook_health.signature_alarm(page.c.uow, page.c.clock)
    return [] if alarm is None else [alarm]


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
