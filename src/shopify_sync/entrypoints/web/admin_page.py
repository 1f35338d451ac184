"""The admin page's requests: the operator's session, rendering, CSRF-checked forms and
typed query parameters, shared by every admin route (:mod:`.admin`, :mod:`.admin_products`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from shopify_sync.bootstrap import Container
from shopify_sync.config import required
from shopify_sync.entrypoints.web.admin_forms import BadInput, M, parse
from shopify_sync.entrypoints.web.session import (
    Session,
    SessionCodec,
    password_matches,
)
from shopify_sync.entrypoints.web.state import AppState, state_of
from shopify_sync.services import access, admin, webhook_health

HERE = Path(__file__).parent
PAGE_SIZE = 50
COMMON_ZONES = (
    "UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York",
    "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney",
)  # fmt: skip

_UTC_TIME = re.compile(r"\b(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC\b")
templates = Jinja2Templates(directory=HERE / "templates")


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


async def sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/admin/products"
    return exc.page.redirect(f"/admin/login?next={quote(target)}")


async def refused(request: Request, exc: Exception) -> Response:
    return Page(request).render("refused.html", status=403)


async def bad_input(request: Request, exc: Exception) -> Response:
    """A malformed value no page of its own can show again: this page says what was wrong."""
    page = Page(request)
    page.session.flash("error", str(exc))
    return page.render("bad_request.html", status=400)


async def alarms(page: Page) -> list[str]:
    """What is wrong beyond single products (a wrong webhook secret), shown atop the page."""
    await page.c.refusals.flush()
    alarm = await webhook_health.signature_alarm(page.c.uow, page.c.clock)
    return [] if alarm is None else [alarm]
