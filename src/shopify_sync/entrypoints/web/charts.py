"""Server-side SVG charts for the dashboard: no JavaScript, no library, works offline.

Each chart is a small line chart of a few series over evenly spaced intervals. Colours
come from CSS classes (``series-0``...), so the page's light and dark themes both apply;
every interval has a transparent column whose ``<title>`` gives its numbers on hover, and
the page repeats them in a table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from shopify_sync.services.history import Point

WIDTH = 720
HEIGHT = 190
LEFT = 52
RIGHT = 12
TOP = 12
BOTTOM = 26


@dataclass(frozen=True, slots=True)
class Series:
    """One line: the figure it draws (a key of ``Point.values``) and its label."""

    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    """What one chart shows."""

    title: str
    series: tuple[Series, ...]
    unit: str = ""
    """Appended to values: ``s`` for seconds; empty for counts."""


def number(value: float, unit: str = "") -> str:
    """A value for people: counts whole, seconds with sensible precision."""
    if unit == "s":
        if value >= 100:
            return f"{value:,.0f} s"
        return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _ceiling(value: float) -> float:
    """A round upper bound for the y axis (1, 2, 2.5, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** len(str(int(value))) / 10 if value >= 1 else 0.1
    while power > value:
        power /= 10
    for factor in (1, 2, 2.5, 5, 10):
        if power * factor >= value:
            return power * factor
    return power * 10


def render(chart: Chart, points: Sequence[Point], label: Callable[[datetime], str]) -> Markup:
    """The chart as an ``<svg>`` element; ``label`` formats an interval's start."""
    count = max(len(points), 1)
    top_value = _ceiling(
        max((p.values.get(s.key, 0.0) for p in points for s in chart.series), default=0.0)
    )
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    step = plot_w / count

    def x(index: int) -> float:
        return LEFT + step * (index + 0.5)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top_value)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(chart.title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(chart.title)}</title>",
    ]
    for fraction in (0.0, 0.5, 1.0):
        gy = y(top_value * fraction)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">'
            f"{escape(number(top_value * fraction, chart.unit))}</text>"
        )
    ticks = max(1, count // 6)
    for index in range(0, count, ticks):
        parts.append(
            f'<text class="axis" x="{x(index):.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
            f"{escape(label(points[index].start))}</text>"
        )
    for n, series in enumerate(chart.series):
        line = " ".join(
            f"{x(i):.1f},{y(p.values.get(series.key, 0.0)):.1f}" for i, p in enumerate(points)
        )
        parts.append(f'<polyline class="line series-{n}" points="{line}"/>')
    for i, point in enumerate(points):
        text = ", ".join(
            f"{s.label} {number(point.values.get(s.key, 0.0), chart.unit)}" for s in chart.series
        )
        parts.append(
            f'<rect class="hover" x="{x(i) - step / 2:.1f}" y="{TOP}" width="{step:.1f}" '
            f'height="{plot_h}"><title>{escape(label(point.start))}: {escape(text)}</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
