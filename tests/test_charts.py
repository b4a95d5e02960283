"""genlab.charts: every curve genlab draws (run folders, reports, the studio) is this module's SVG -- round ticks
over the data, non-finite points left out, a lone point as a visible marker, markup any XML parser reads."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

from hypothesis import example, given
from hypothesis import strategies as st

from genlab.charts import (
    LEFT,
    MARKER,
    MAX_POINTS,
    RIGHT,
    SVG_NAMESPACE,
    Series,
    curve_series,
    line_chart,
    loss_chart,
    nice_ticks,
    step_span,
    training_charts,
)
from genlab.training.callbacks import LOSS_CURVE, LossCurve

SVG = f"{{{SVG_NAMESPACE}}}"
RECORDS = [
    {"kind": "step", "step": 1, "epoch": 0, "loss": 3.0, "kl": 0.1},
    {"kind": "step", "step": 2, "epoch": 0, "loss": 2.0, "kl": float("nan")},
    {
        "kind": "epoch",
        "step": 2,
        "epoch": 1,
        "train/loss": 2.5,
        "test/loss": 2.2,
        "test/kl": 0.3,
        "eval/fid": 40.0,
        "seconds": 1.5,
        "images_per_s": 99.0,
        "warnings": ["slow"],
    },
    {"kind": "step", "step": 3, "epoch": 1, "loss": 1.5, "kl": 0.2},
]


def polylines(chart: str) -> list[list[tuple[float, float]]]:
    """The pixel points of each polyline of a chart."""
    return [
        [tuple(map(float, xy.split(","))) for xy in points.split()]
        for points in re.findall(r'<polyline[^>]* points="([^"]*)"', chart)
    ]


def tick_labels(chart: str, anchor: str) -> list[str]:
    """The tick labels of one axis: y labels are right-aligned ("end"), x labels centred ("middle")."""
    return re.findall(rf'<text x="[^"]*" y="[^"]*" text-anchor="{anchor}">([^<]*)</text>', chart)


@given(st.floats(-1e6, 1e6), st.floats(1e-3, 1e6), st.integers(2, 12))
@example(1.0, 400001.0, 2)  # the round step (500,000) has no multiple inside [1, 400,002]
def test_ticks_are_round_inside_the_range_and_cover_it(lo, span, count):
    """Ticks are steps of 1, 2 or 5 times a power of ten, inside [lo, hi], at most one step from either end."""
    hi = lo + span
    ticks = nice_ticks(lo, hi, count)
    assert ticks, (lo, hi, count)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else span
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert len(ticks) == 1 or any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 5, 10))
    slack = 1e-9 * max(abs(lo), abs(hi), 1)
    assert lo - slack <= ticks[0] and ticks[-1] <= hi + slack
    assert ticks[0] - lo <= step + slack and hi - ticks[-1] <= step + slack
    assert len(ticks) <= count + 1


def test_a_chart_labels_ticks_over_its_data():
    """The y labels bracket the smallest and largest value; the x labels are whole steps within the series'."""
    chart = line_chart("loss", [Series("train", [0, 500, 1000], [0.37, 4.2, 1.1])])
    ys = [float(label) for label in tick_labels(chart, "end")]
    xs = [float(label) for label in tick_labels(chart, "middle") if label != "step"]
    assert min(ys) <= 0.37 + (ys[1] - ys[0]) and max(ys) >= 4.2 - (ys[1] - ys[0]) and len(ys) >= 3
    assert xs[0] >= 0 and xs[-1] <= 1000 and all(x == int(x) for x in xs) and len(xs) >= 3


def test_missing_and_non_finite_points_are_left_out():
    """None, NaN and infinities drop out of a line; a series with none left is not drawn (nor in the legend)."""
    chart = line_chart(
        "loss",
        [
            Series("a", [1, 2, 3, 4, 5], [1.0, None, float("nan"), float("inf"), 2.0]),
            Series("gone", [1, 2], [float("-inf"), None]),
        ],
    )
    assert [len(line) for line in polylines(chart)] == [2]
    assert ">gone<" not in chart and "nan" not in chart.lower() and "inf" not in chart.lower()
    assert line_chart("empty", [Series("x", [1], [None])]) == ""


def test_a_long_series_is_thinned_and_keeps_its_first_and_last_point():
    """About MAX_POINTS points are drawn, from the first step (the left edge) to the last (the right edge)."""
    n = 10 * MAX_POINTS + 3
    (line,) = polylines(
        line_chart("loss", [Series("loss", list(range(n)), [1.0 / (1 + i) for i in range(n)])], width=400)
    )
    assert MAX_POINTS // 2 <= len(line) <= MAX_POINTS + 1
    assert line[0][0] == LEFT and line[-1][0] == 400 - RIGHT


def test_a_single_point_is_a_visible_marker_inside_the_plot():
    """A series of one point (one epoch's test loss) is a marker with its value, not a speck, even alone."""
    for series in (
        [Series("test (epoch)", [7], [0.5], dots=True)],
        [Series("steps", [1, 2, 3], [3.0, 2.0, 1.0]), Series("test (epoch)", [3], [1.5])],
    ):
        chart = line_chart("loss", series, width=300, height=200)
        markers = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="([\d.]+)"', chart)
        assert len(markers) == 1 and float(markers[0][2]) == MARKER
        assert re.search(rf"<circle [^>]*/><text [^>]*>{series[-1].ys[0]}</text>", chart)
        x, y = float(markers[0][0]), float(markers[0][1])
        assert 52 < x <= 290 and 20 < y < 170  # inside the plot area


def test_a_plot_of_lone_points_only_does_not_look_empty():
    """Nothing but lone points (one epoch's test loss on the steps' shared axis): each value also spans the plot
    as a dashed level at its marker, and a note says there is one value so far and at which step; a chart with a
    line has neither."""
    for values in ([0.53], [0.53, 2.5]):
        lone = [Series(f"s{i}", [40], [v], dots=True) for i, v in enumerate(values)]
        chart = line_chart("loss", lone, width=300, height=200, x_range=(1, 40))
        markers = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', chart)]
        levels = re.findall(r'<line class="level" x1="([\d.]+)" x2="([\d.]+)" y1="([\d.]+)" y2="([\d.]+)"', chart)
        assert len(levels) == len(values) == len(markers)
        for (x1, x2, y1, y2), y in zip(levels, markers):
            assert float(x1) == LEFT and float(x2) == 300 - RIGHT and float(y1) == float(y2) == y
        (note,) = re.findall(r'<text class="note"[^>]*>([^<]*)</text>', chart)
        assert "one value" in note and "step 40" in note
    mixed = line_chart("loss", [Series("steps", [1, 2, 40], [3.0, 2.0, 1.0]), Series("test", [40], [1.5])])
    assert 'class="level"' not in mixed and 'class="note"' not in mixed


def test_charts_parse_as_xml_inline_and_standalone():
    """Markup for a page and a file of its own (namespace, style, background) both parse; labels are escaped."""
    series = [Series('d<g> & "q"', [1, 2], [1.0, 2.0]), Series("test", [2], [1.5], dots=True)]
    inline = ET.fromstring(line_chart("a<b>&c", series))
    assert inline.tag == "svg" and inline.get("aria-label") == "a<b>&c"
    standalone = ET.fromstring(line_chart("a<b>&c", series, standalone=True))
    assert standalone.tag == f"{SVG}svg" and standalone.find(f"{SVG}style") is not None
    assert [t.text for t in standalone.iter(f"{SVG}text")].count('d<g> & "q"') == 1


def test_curve_series_joins_steps_and_epochs_losses_first():
    charts = curve_series(RECORDS)
    assert list(charts) == ["loss", "kl", "eval/fid"]  # seconds, images_per_s and warnings are no curves
    assert [s.label for s in charts["loss"]] == ["logged steps", "train (epoch)", "test (epoch)"]
    assert [s.label for s in charts["kl"]] == ["logged steps", "test (epoch)"]
    assert charts["loss"][0].xs == [1, 2, 3] and charts["loss"][2].ys == [2.2] and charts["loss"][2].dots
    assert step_span(RECORDS) == (1, 3) and step_span([]) is None
    assert all(chart.startswith("<svg") for chart in training_charts(RECORDS).values())


def test_the_loss_chart_holds_every_logged_loss_and_the_test_loss():
    records = [{"kind": "step", "step": s, "d/loss": 1.0 / s, "g/loss": 2.0 / s, "d/D(x)": 0.5} for s in (1, 2, 3)]
    records.append({"kind": "epoch", "step": 3, "epoch": 1, "test/loss": 0.7})
    chart = loss_chart(records)
    assert ">d/loss<" in chart and ">g/loss<" in chart and ">test loss (epoch)<" in chart and "D(x)" not in chart
    assert [len(line) for line in polylines(chart)] == [3, 3, 1]
    assert loss_chart([]) == ""


def test_the_loss_curve_callback_writes_an_svg_file_into_the_run_folder(tmp_path):
    """After an epoch, RUN/loss_curve.svg is a standalone SVG of the losses; without records there is none."""
    callback, trainer = LossCurve(), SimpleNamespace(run_dir=tmp_path)
    callback.on_epoch_logged(trainer, {"epoch": 0})
    assert not (tmp_path / LOSS_CURVE).exists()
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS) + '{"torn": ')
    callback.on_epoch_logged(trainer, RECORDS[2])
    root = ET.parse(tmp_path / LOSS_CURVE).getroot()
    assert root.tag == f"{SVG}svg" and root.get("aria-label") == "loss"
    assert len(list(root.iter(f"{SVG}polyline"))) == 2  # the steps' loss and the test loss


def test_a_scatter_plot_leaves_the_process_matplotlib_backend_alone(tmp_path):
    """A notebook's inline figures keep working after genlab draws the scatter plot of 2-D samples."""
    import matplotlib
    import torch

    from genlab.viz import save_scatter

    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        path = save_scatter(torch.randn(50, 2), tmp_path / "points.png", centers=torch.zeros(1, 2))
        assert matplotlib.get_backend() == "svg" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        matplotlib.use(before)
