"""Line charts as SVG, drawn by hand: no plotting library, no script and no font file. Every curve genlab draws
comes from here -- a run folder's loss_curve.svg, the curves of ``genlab report`` and ``compare --html`` and the
studio's charts -- from the records of metrics.jsonl."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any

from .viz import RECORD_POSITION, is_finite_number, of_kind

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
MAX_POINTS = 600  # a longer series is thinned to about this many points (the page stays small)
LEFT, RIGHT, BOTTOM, TITLE_ROW, LEGEND_ROW = 52, 10, 30, 18, 14  # pixel margins of the plot area
DOT, MARKER = 2.5, 4.5  # radius of the dots of a dotted series; of the one point of a series that has one
STYLE = (
    "svg.chart{background:#fff;border:1px solid #eee}svg.chart text{font:10px sans-serif;fill:#444}"
    "svg.chart .title{font-size:12px;font-weight:bold;fill:#222}svg.chart .grid{stroke:#eee}"
    "svg.chart .axis{stroke:#999}svg.chart .line{fill:none;stroke-width:1.5}"
)  # a page holding charts needs it
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # what a chart in a file of its own declares
BOOKKEEPING = ("seconds", "images_per_s", "nonfinite_skipped")  # epoch numbers about speed, not learning: no chart


@dataclass
class Series:
    """One line of a chart; ``dots`` marks each point too (few points, e.g. one per epoch)."""

    label: str
    xs: list[float]
    ys: list[float]
    dots: bool = False


@dataclass(frozen=True)
class Frame:
    """The plot area in pixels and the data ranges it shows."""

    left: float
    top: float
    right: float
    bottom: float
    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def x(self, value: float) -> float:
        lo, hi = self.x_range
        return self.left + (value - lo) / (hi - lo) * (self.right - self.left)

    def y(self, value: float) -> float:
        lo, hi = self.y_range
        return self.bottom - (value - lo) / (hi - lo) * (self.bottom - self.top)


def line_chart(
    title: str,
    series: list[Series],
    width: int = 380,
    height: int = 230,
    x_range: tuple[float, float] | None = None,
    standalone: bool = False,
) -> str:
    """An SVG chart of the series' finite points against the optimizer step, with a grid, ticks, a legend and a
    title; "" with no points. ``x_range`` (default: the points') lets the charts of a page share their x axis;
    ``standalone`` makes a file of its own (an SVG file, an ``<img>``), else it is markup for a page with STYLE."""
    series = [s for s in map(finite, series) if s.xs]
    if not series:
        return ""
    entries = legend_rows(series, width)
    top = TITLE_ROW + LEGEND_ROW * len(entries) + 8
    xs, ys = [x for s in series for x in s.xs], [y for s in series for y in s.ys]
    frame = Frame(
        LEFT,
        top,
        width - RIGHT,
        height - BOTTOM,
        padded(*(x_range or (min(xs), max(xs))), 0.0),
        padded(min(ys), max(ys), 0.05),
    )
    parts = [opening(title, width, height, standalone), f'<text class="title" x="{LEFT}" y="13">{escape(title)}</text>']
    parts += axes(frame, max(4, (height - top) // 35), max(4, width // 60))
    alone = all(len(s.xs) == 1 for s in series)  # nothing but lone points: levels and a note, not an empty plot
    parts += [draw(s, frame, COLORS[i % len(COLORS)], alone) for i, s in enumerate(series)]
    parts += [lone_note(series, frame)] if alone else []
    parts += legend(entries, series)
    return "".join(parts) + "</svg>"


def opening(title: str, width: int, height: int, standalone: bool) -> str:
    """The ``<svg>`` tag; a standalone chart also declares its namespace and carries its style and background."""
    size = f'viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
    tag = f'<svg class="chart" {size} role="img" aria-label="{escape(title)}">'
    if not standalone:
        return tag
    return (
        f'<svg xmlns="{SVG_NAMESPACE}" class="chart" {size} role="img" aria-label="{escape(title)}">'
        f'<style>{STYLE}</style><rect width="{width}" height="{height}" fill="#fff"/>'
    )


def finite(series: Series) -> Series:
    """The series without points that are missing or not finite, thinned to about MAX_POINTS."""
    points = [(x, y) for x, y in zip(series.xs, series.ys) if is_finite_number(x) and is_finite_number(y)]
    stride = max(1, math.ceil(len(points) / MAX_POINTS))
    kept = points[::stride] + ([points[-1]] if points and (len(points) - 1) % stride else [])
    return Series(series.label, [p[0] for p in kept], [p[1] for p in kept], series.dots)


def padded(lo: float, hi: float, margin: float) -> tuple[float, float]:
    """A range around [lo, hi], widened by ``margin`` of its span; a single value gets a range of its own."""
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1.0):
        half = abs(lo) * 0.1 or 1.0
        return lo - half, hi + half
    span = hi - lo
    return lo - margin * span, hi + margin * span


def nice_ticks(lo: float, hi: float, count: int, least_step: float = 0.0) -> list[float]:
    """At most ``count`` round values (1, 2 or 5 times a power of ten apart, at least ``least_step``) in [lo, hi]."""
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    steps = [m * power for m in (1, 2, 5, 10)]
    fits = next(i for i, step in enumerate(steps) if step >= raw)
    for step in (max(step, least_step) for step in steps[fits::-1]):  # a smaller step when no multiple falls inside
        first = math.ceil(lo / step) * step
        ticks = [first + i * step for i in range(math.floor((hi - first) / step + 1e-9) + 1)]
        if ticks:
            return ticks
    return []


def tick_text(value: float) -> str:
    """A tick label: short, 12k for twelve thousand."""
    if abs(value) >= 10_000:
        return f"{value / 1000:.4g}k"
    return f"{value:.4g}" if abs(value) >= 1e-12 else "0"


def axes(frame: Frame, y_ticks: int, x_ticks: int) -> list[str]:
    """Grid lines with their labels, the frame and the x axis' name."""
    parts = []
    for value in nice_ticks(*frame.y_range, y_ticks):
        y = frame.y(value)
        parts.append(
            f'<line class="grid" x1="{frame.left}" x2="{frame.right}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{frame.left - 4}" y="{y + 3:.1f}" text-anchor="end">{tick_text(value)}</text>'
        )
    for value in nice_ticks(*frame.x_range, x_ticks, least_step=1.0):  # steps are whole numbers
        x = frame.x(value)
        parts.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top}" y2="{frame.bottom}"/>'
            f'<text x="{x:.1f}" y="{frame.bottom + 12}" text-anchor="middle">{tick_text(value)}</text>'
        )
    parts.append(
        f'<rect class="axis" fill="none" x="{frame.left}" y="{frame.top}" '
        f'width="{frame.right - frame.left}" height="{frame.bottom - frame.top}"/>'
    )
    parts.append(
        f'<text x="{(frame.left + frame.right) / 2:.0f}" y="{frame.bottom + 25}" text-anchor="middle">step</text>'
    )
    return parts


def draw(series: Series, frame: Frame, color: str, level: bool = False) -> str:
    """A polyline through the series' points, a dot on each when asked, and a larger marker with its value on a
    point alone (a series of one point, e.g. one epoch's test loss, is never a speck in an empty plot); ``level``
    also draws a lone point's value as a dashed line across the plot."""
    points = [(frame.x(x), frame.y(y)) for x, y in zip(series.xs, series.ys)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    polyline = f'<polyline class="line" stroke="{color}" points="{line}"/>'
    if len(points) == 1:
        y = points[0][1]
        dashed = (
            f'<line class="level" x1="{frame.left}" x2="{frame.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{color}" '
            'stroke-dasharray="5 4" stroke-opacity="0.7"/>'
        )
        return polyline + (dashed if level else "") + lone_point(*points[0], series.ys[0], frame, color)
    return polyline + "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{DOT}" fill="{color}"/>' for x, y in points if series.dots
    )


def lone_point(x: float, y: float, value: float, frame: Frame, color: str) -> str:
    """The marker of a series' only point and its value beside it, on the side of the plot with more room."""
    left = x > (frame.left + frame.right) / 2
    label_x, anchor = (x - MARKER - 3, "end") if left else (x + MARKER + 3, "start")
    return (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{MARKER}" fill="{color}"/><text x="{label_x:.1f}" '
        f'y="{y - MARKER - 2:.1f}" text-anchor="{anchor}">{tick_text(value)}</text>'
    )


def lone_note(series: list[Series], frame: Frame) -> str:
    """A note at the foot of a plot whose series have one point each: one value so far, and at which step."""
    steps = " and ".join(dict.fromkeys(tick_text(s.xs[0]) for s in series))
    text = f"one value {'each ' if len(series) > 1 else ''}so far (step {steps})"
    return (
        f'<text class="note" x="{(frame.left + frame.right) / 2:.0f}" y="{frame.bottom - 8}" '
        f'text-anchor="middle" font-style="italic">{escape(text)}</text>'
    )


def legend_rows(series: list[Series], width: int) -> list[list[int]]:
    """The series' indices per legend row, filling each row up to the chart's width."""
    rows: list[list[int]] = [[]]
    used = LEFT
    for i, s in enumerate(series):
        needed = 22 + 6 * len(s.label)
        if rows[-1] and used + needed > width:
            rows.append([])
            used = LEFT
        rows[-1].append(i)
        used += needed
    return rows


def legend(rows: list[list[int]], series: list[Series]) -> list[str]:
    """A short colored line and the label of each series, in rows under the title."""
    parts = []
    for row_number, row in enumerate(rows):
        x, y = LEFT, TITLE_ROW + LEGEND_ROW * row_number + 10
        for i in row:
            color = COLORS[i % len(COLORS)]
            parts.append(
                f'<line x1="{x}" x2="{x + 14}" y1="{y - 3}" y2="{y - 3}" stroke="{color}" stroke-width="2"/>'
                f'<text x="{x + 18}" y="{y}">{escape(series[i].label)}</text>'
            )
            x += 22 + 6 * len(series[i].label)
    return parts


# -- the curves of a run: series from the records of metrics.jsonl -----------------------------------------


def curve_series(records: list[dict[str, Any]]) -> dict[str, list[Series]]:
    """Chart name -> its series: each field of the step records, joined by the epoch records' ``train/`` and
    ``test/`` numbers of the same name; the epochs' other numbers (``eval/...``) get charts of their own. Losses
    come first."""
    steps, epochs = of_kind(records, "step"), of_kind(records, "epoch")
    charts: dict[str, list[Series]] = {}
    for field in numeric_fields(steps):
        charts.setdefault(field, []).append(along_steps("logged steps", steps, field))
    for field in numeric_fields(epochs):
        prefix, _, name = field.partition("/")
        chart, label = (name, f"{prefix} (epoch)") if prefix in ("train", "test") and name else (field, "epoch")
        if field not in BOOKKEEPING:
            charts.setdefault(chart, []).append(along_steps(label, epochs, field, dots=True))
    return dict(sorted(charts.items(), key=lambda item: not is_loss(item[0])))


def numeric_fields(records: list[dict[str, Any]]) -> list[str]:
    """Fields that hold a number in any of the records, in the order they first appear."""
    return list(
        dict.fromkeys(k for r in records for k, v in r.items() if k not in RECORD_POSITION and is_finite_number(v))
    )


def along_steps(label: str, records: list[dict[str, Any]], field: str, dots: bool = False) -> Series:
    """One field of the records against their steps."""
    return Series(label, [r["step"] for r in records], [r.get(field) for r in records], dots)


def is_loss(field: str) -> bool:
    """``loss`` or a phase's loss (``g/loss``, ``d/loss``)."""
    return field == "loss" or field.endswith("/loss")


def step_span(records: list[dict[str, Any]]) -> tuple[float, float] | None:
    """The first and last step of the step and epoch records (the x axis the charts of a run share); None
    without any."""
    steps = [r["step"] for r in of_kind(records, "step") + of_kind(records, "epoch")]
    return (min(steps), max(steps)) if steps else None


def training_charts(
    records: list[dict[str, Any]], width: int = 380, height: int = 230, standalone: bool = False
) -> dict[str, str]:
    """Chart name -> the SVG chart of each logged quantity (curve_series), all over the same steps."""
    shared = step_span(records)
    return {
        name: line_chart(name, series, width, height, shared, standalone)
        for name, series in curve_series(records).items()
    }


def loss_chart(records: list[dict[str, Any]], width: int = 380, height: int = 230, standalone: bool = False) -> str:
    """The losses of a run in one chart: every loss the steps log (``loss``, ``g/loss``, ...) and each epoch's
    test loss; "" before the first record."""
    steps, epochs = of_kind(records, "step"), of_kind(records, "epoch")
    series = [along_steps(field, steps, field) for field in numeric_fields(steps) if is_loss(field)]
    series.append(along_steps("test loss (epoch)", epochs, "test/loss", dots=True))
    return line_chart("loss", series, width, height, standalone=standalone)
