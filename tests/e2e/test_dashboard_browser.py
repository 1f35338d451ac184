"""The dashboard in a real browser: the landing page after sign-in, its charts drawn from a
day of stored history, numbers on hover, readable in light and dark."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shopify_sync.services.history import INTERVAL, interval_start
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_admin_browser import add, off_loop
from tests.integration.service.stack import Stack


def seed_day(stack: Stack) -> dict[datetime, dict[str, float]]:
    """A day of five-minute figures, as the processes' flushes would have stored them:
    busier by day, a burst of refused webhooks and failures at one moment. Returns them
    by interval start."""
    now = interval_start(datetime.now(UTC))
    rows = []
    seeded: dict[datetime, dict[str, float]] = {}
    for n in range(288):
        at = now - INTERVAL * n
        busy = 1 + math.sin(n / 288 * 2 * math.pi) ** 2 * 3
        figures = {
            "pushed": round(4 * busy), "pulled": round(7 * busy), "webhooks": round(40 * busy),
            "webhooks_refused": 6 if n == 40 else 0, "sync_failures": 3 if n in (40, 41) else 0,
            "shopify_errors": 2 if n == 40 else 0,
            "webhook_lag_sum": 0.8 * busy * round(40 * busy),
            "webhook_lag_count": round(40 * busy), "webhook_lag_max": 2.1 * busy,
            "push_latency_sum": 0.4 * round(4 * busy), "push_latency_count": round(4 * busy),
            "push_latency_max": 0.9 * busy,
        }  # fmt: skip
        if n % 12 == 0:
            figures.update(reconciles=1, drift=2 if n == 36 else 0, drift_max=2 if n == 36 else 0)
        rows += [{"t": at, "n": name, "v": float(v)} for name, v in figures.items()]
        seeded[at] = {name: float(v) for name, v in figures.items()}
    off_loop(stack.sql, "DELETE FROM metric_intervals")
    for row in rows:
        off_loop(
            stack.sql,
            "INSERT INTO metric_intervals (bucket_start, name, value) VALUES (:t, :n, :v)",
            **row,
        )
    return seeded


SEEDED: dict[datetime, dict[str, float]] = {}


@pytest.fixture(name="seeded", scope="module")
def _seeded(stack: Stack) -> Stack:
    """The stack with a day of history and two more products."""
    SEEDED.update(seed_day(stack))
    add(stack, "dash-001", "SKU-000011", b2c=5, linked=True, enabled=True)
    add(stack, "dash-002", "SKU-000012", b2c=3, linked=False, enabled=False)
    return stack


@pytest.fixture(name="signed_in")
def _signed_in(browser: Any, seeded: Stack) -> Iterator[Any]:
    """Sign in from the root of the admin, in Paris time: lands on the dashboard."""
    stack = seeded

    def sign_in(scheme: str) -> Any:
        context = browser.new_context(
            timezone_id="Europe/Paris", viewport={"width": 1280, "height": 900},
            locale="en-GB", color_scheme=scheme,
        )  # fmt: skip
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{stack.service}/admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Sign in')")
        page.wait_for_selector("h1:has-text('Dashboard')")
        contexts.append(context)
        return page

    contexts: list[Any] = []
    try:
        yield sign_in
    finally:
        for context in contexts:
            context.close()


def test_the_dashboard_is_the_landing_page_with_its_charts(signed_in: Any, artifacts: Path) -> None:
    """After sign-in the dashboard shows the products by state and six charts whose
    intervals give their numbers on hover; the table lists them too."""
    page = signed_in("light")

    charts = page.locator("svg.chart").count()
    hover = page.locator("svg.chart").first.locator("rect.hover").last
    title = hover.locator("title").text_content()
    hover.hover()
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    page.click("summary:has-text('The numbers')")
    rows = page.locator("#numbers tbody tr").count()

    assert charts == 6
    step = interval_start(max(SEEDED), timedelta(minutes=15))
    newest = [figures for at, figures in SEEDED.items() if at >= step]
    pushed, pulled = (int(sum(f[name] for f in newest)) for name in ("pushed", "pulled"))
    assert f"pushed to Shopify {pushed}, pulled from Shopify {pulled}" in title
    assert rows == 96
    assert int(page.locator("#tile-disabled .figure").inner_text()) >= 1


def test_the_dashboard_reads_in_dark_mode(signed_in: Any, artifacts: Path) -> None:
    """With the browser in dark mode the page turns dark and the chart lines stay light on it."""
    page = signed_in("dark")
    page.click("nav.tabs a:has-text('last 7 days')")
    page.wait_for_selector("a[aria-current=page]:has-text('last 7 days')")

    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    line = page.evaluate(
        "getComputedStyle(document.querySelector('svg.chart .line.series-0')).stroke"
    )
    page.screenshot(path=str(artifacts / "dashboard-dark.png"), full_page=True)

    assert _luminance(background) < 0.1 < 0.4 < _luminance(line)


def test_the_dashboard_loads_nothing_from_elsewhere(signed_in: Any, seeded: Stack) -> None:
    """Both windows of the dashboard, charts and styles included, come from the service
    alone (no CDN, no other host), so the page works offline."""
    page = signed_in("light")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.reload()
    page.click("nav.tabs a:has-text('last 7 days')")
    page.wait_for_selector("a[aria-current=page]:has-text('last 7 days')")

    assert any(url.endswith(".css") for url in requested)
    assert [url for url in requested if not url.startswith(f"{seeded.service}/")] == []


def _luminance(css: str) -> float:
    """Relative brightness (0 black, 1 white) of an ``rgb(r, g, b)`` colour."""
    r, g, b = (int(part) for part in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255
