"""Entrypoint: the dashboard, the admin's landing page: the state at a glance and charts of
the last 24 hours or 7 days, drawn server-side from the per-interval history."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi.responses import Response

from shopify_sync.entrypoints.web import charts
from shopify_sync.entrypoints.web.charts import Chart, Series
from shopify_sync.entrypoints.web.state import shopify_status
from shopify_sync.entrypoints.worker import WebhookWatch
from shopify_sync.errors import StorageError
from shopify_sync.services import handlers
from shopify_sync.services.history import WINDOWS, History, read_history

if TYPE_CHECKING:
    from shopify_sync.entrypoints.web.admin_page import Page

CHARTS = (
    Chart("Changes per interval", (Series("pushed", "pushed to Shopify"),
                                   Series("pulled", "pulled from Shopify"))),
    Chart("Webhook deliveries", (Series("webhooks", "taken"),
                                 Series("webhooks_refused", "refused"))),
    Chart("Errors", (Series("sync_failures", "failed syncs"),
                     Series("shopify_errors", "failed Shopify calls"))),
    Chart("Drift found by reconciles", (Series("drift_max", "largest in one reconcile"),
                                        Series("reconciles", "reconciles run"))),
    Chart("Webhook lag", (Series("webhook_lag_avg", "average"),
                          Series("webhook_lag_max", "max")), unit="s"),
    Chart("Push latency", (Series("push_latency_avg", "average"),
                           Series("push_latency_max", "max")), unit="s"),
)  # fmt: skip
"""The charts, in page order; the table shows every series of them."""


async def render(page: Page, window: str) -> Response:
    """The dashboard for ``window`` (``24h`` or ``7d``)."""
    if window not in WINDOWS:
        window = "24h"
    c = page.c
    states = await c.states.read()
    health = await handlers.health(c.uow)
    history: History | None
    try:
        history = await read_history(c.uow, c.clock, window)
    except StorageError:
        history = None
    label = _labeller(page, window)
    drawn = [] if history is None else [
        (chart, charts.render(chart, history.points, label)) for chart in CHARTS
    ]  # fmt: skip
    columns = [(s, chart.unit) for chart in CHARTS for s in chart.series]
    rows: list[tuple[str, list[str]]] = []
    if history is not None:
        for point in reversed(history.points):
            if any(point.values.get(s.key) for s, _ in columns):
                values = [charts.number(point.values.get(s.key, 0.0), u) for s, u in columns]
                rows.append((label(point.start), values))
    context: dict[str, Any] = {
        "window": window,
        "windows": list(WINDOWS),
        "states": states,
        "health": health,
        "shopify": await shopify_status(page.state),
        "subscriptions": _subscriptions(page.state.worker.webhooks),
        "outage_since": c.outage.outage_since,
        "oldest_error_age": _age(c.clock.now(), states.oldest_error_since if states else None),
        "charts": drawn,
        "columns": [s.label if not u else f"{s.label} ({u})" for s, u in columns],
        "chart_of": [chart.title for chart in CHARTS for _ in chart.series],
        "rows": rows,
        "history_off": c.history is None,
        "step_minutes": int(WINDOWS[window][1].total_seconds() // 60),
    }
    return page.render("dashboard.html", **context)


def _subscriptions(watch: WebhookWatch | None) -> tuple[str, str]:
    """The badge class and text for our webhook subscriptions, as this process last saw them."""
    if watch is None:
        return "", "not watched (PUBLIC_URL is not set)"
    if watch.check is None:
        return ("error", f"not checked: {watch.error}") if watch.error else ("", "not checked yet")
    check = watch.check
    if check.healthy:
        return "ok", f"in order at {watch.address}"
    problems = [f"missing {topic}" for topic, _ in check.missing]
    problems += [f"{sub.topic} delivered to {sub.uri}" for sub in check.wrong]
    problems += [f"extra {sub.topic}" for sub in check.extra]
    return "error", "; ".join(problems)


def _labeller(page: Page, window: str) -> Any:
    fmt = "%H:%M" if window == "24h" else "%a %H:%M"

    def label(moment: datetime) -> str:
        return f"{moment.astimezone(page.session.tz):{fmt}}"

    return label


def _age(now: datetime, since: datetime | None) -> str | None:
    """How long ago, for people: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    if since is None:
        return None
    seconds = max(int((now - since).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60} min"
    return f"{hours // 24} d {hours % 24} h"
