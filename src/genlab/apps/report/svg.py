"""Line charts as inline SVG, drawn by hand: no script, no font file and no plotting library in the page."""
from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from ...viz import is_finite_number

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
MAX_POINTS = 600  # a longer series is thinned to about this many points (the page stays small)
LEFT, RIGHT, BOTTOM, TITLE_ROW, LEGEND_ROW = 52, 10, 30, 18, 14  # pixel margins of the plot area


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


def line_chart(title: str, series: list[Series], width: int = 380, height: int = 230,
               x_range: tuple[float, float] | None = None) -> str:
    """An SVG chart of the series' finite points against the optimizer step, with a grid, ticks, a legend and a
    title; "" with no points. ``x_range`` (default: the points') lets the charts of a page share their x axis."""
    series = [s for s in map(finite, series) if s.xs]
    if not series:
        return ""
    entries = legend_rows(series, width)
    top = TITLE_ROW + LEGEND_ROW * len(entries) + 8
    xs, ys = [x for s in series for x in s.xs], [y for s in series for y in s.ys]
    frame = Frame(LEFT, top, width - RIGHT, height - BOTTOM, padded(*(x_range or (min(xs), max(xs))), 0.0),
                  padded(min(ys), max(ys), 0.05))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}"><text class="title" x="{LEFT}" y="13">{escape(title)}</text>']
    parts += axes(frame, max(4, (height - top) // 35), max(4, width // 60))
    parts += [draw(s, frame, COLORS[i % len(COLORS)]) for i, s in enumerate(series)]
    parts += legend(entries, series)
    return "".join(parts) + "</svg>"


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
    step = max(next(m * power for m in (1, 2, 5, 10) if m * power >= raw), least_step)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


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
        parts.append(f'<line class="grid" x1="{frame.left}" x2="{frame.right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text x="{frame.left - 4}" y="{y + 3:.1f}" text-anchor="end">{tick_text(value)}</text>')
    for value in nice_ticks(*frame.x_range, x_ticks, least_step=1.0):  # steps are whole numbers
        x = frame.x(value)
        parts.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top}" y2="{frame.bottom}"/>'
                     f'<text x="{x:.1f}" y="{frame.bottom + 12}" text-anchor="middle">{tick_text(value)}</text>')
    parts.append(f'<rect class="axis" fill="none" x="{frame.left}" y="{frame.top}" '
                 f'width="{frame.right - frame.left}" height="{frame.bottom - frame.top}"/>')
    parts.append(f'<text x="{(frame.left + frame.right) / 2:.0f}" y="{frame.bottom + 25}" '
                 f'text-anchor="middle">step</text>')
    return parts


def draw(series: Series, frame: Frame, color: str) -> str:
    """A polyline through the series' points (and a dot on each when asked)."""
    points = [(frame.x(x), frame.y(y)) for x, y in zip(series.xs, series.ys)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>' for x, y in points
                   if series.dots or len(points) == 1)
    return f'<polyline class="line" stroke="{color}" points="{line}"/>{dots}'


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
            parts.append(f'<line x1="{x}" x2="{x + 14}" y1="{y - 3}" y2="{y - 3}" stroke="{color}" stroke-width="2"/>'
                         f'<text x="{x + 18}" y="{y}">{escape(series[i].label)}</text>')
            x += 22 + 6 * len(series[i].label)
    return parts
