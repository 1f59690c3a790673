"""Charts for the HTML report: matplotlib figures rendered to inline SVG text.

Figures are built with the object API (no pyplot state), so nothing needs closing and
no GUI backend is ever touched; each SVG gets its own id salt so that several charts
can live in one HTML page without their internal ids colliding.
"""

import io
import math
import re
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, LogFormatter, NullLocator

# Percentiles on a "nines" axis: x = -log10(1 - p/100), so 90, 99, 99.9 are evenly spaced.
PERCENTILE_TICKS = (0.0, 50.0, 90.0, 99.0, 99.9)
PERCENTILE_POINTS = 200
CHART_WIDTH_IN = 7.5
TIME_SPLIT_LABELS = ("database (metered)", "app, outside the database", "network, queue, client")
TIME_SPLIT_COLORS = ("#4c72b0", "#dd8452", "#b8b8b8")
GROUP_ID = re.compile(r'\sid="[\w.]+_\d+"')


def _nines(percent: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Position of a percentile on the nines axis."""
    return -np.log10(1.0 - np.asarray(percent, dtype=float) / 100.0)


def _svg(figure: Figure, salt: str) -> str:
    """The figure as an <svg> element: no XML prolog or metadata, referenced ids salted."""
    buffer = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        figure.savefig(
            buffer,
            format="svg",
            bbox_inches="tight",
            metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
        )
    text = buffer.getvalue()
    # Group ids like "figure_1" repeat in every chart and nothing refers to them.
    return GROUP_ID.sub("", text[text.index("<svg") :])


def _style(axes: Axes, title: str) -> None:
    axes.set_title(title, fontsize=10, loc="left")
    axes.grid(True, which="major", color="#e0e0e0", linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _log_ms_axis(axes: Axes) -> None:
    """A log-scale y axis labelled with plain numbers (20, 50, 100), not 2x10^1."""
    axes.set_yscale("log")
    for formatter in (axes.yaxis.set_major_formatter, axes.yaxis.set_minor_formatter):
        formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def latency_percentiles_svg(
    latencies: Mapping[str, npt.NDArray[np.float64]], title: str, salt: str
) -> str:
    """Latency (log ms) against percentile 0..99.9, one line per variant."""
    figure = Figure(figsize=(CHART_WIDTH_IN, 3.4))
    axes = figure.add_subplot()
    grid = 100.0 * (
        1.0 - 10.0 ** -np.linspace(0.0, _nines(PERCENTILE_TICKS[-1]), PERCENTILE_POINTS)
    )
    for variant, values in latencies.items():
        if len(values):
            curve = np.percentile(values, grid, method="linear")
            axes.plot(_nines(grid), curve, label=f"{variant} (n={len(values):,})", linewidth=1.6)
    _log_ms_axis(axes)
    axes.xaxis.set_major_locator(FixedLocator(_nines(PERCENTILE_TICKS).tolist()))
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xticklabels([f"{tick:g}" for tick in PERCENTILE_TICKS])
    axes.set_xlabel("percentile")
    axes.set_ylabel("latency (ms, log scale)")
    _style(axes, title)
    if axes.lines:
        axes.legend(fontsize=8, frameon=False)
    return _svg(figure, salt)


def time_split(db_ms: float, app_ms: float, latency_ms: float) -> tuple[float, float, float]:
    """Mean latency cut into (database, rest of the app, outside the app), in ms.

    The meter's app time runs until the response starts; what the client saw beyond it is
    network, queueing and the client itself. An unmetered part counts as zero.
    """
    database = 0.0 if math.isnan(db_ms) else db_ms
    inside_app = database if math.isnan(app_ms) else max(app_ms, database)
    outside = 0.0 if math.isnan(latency_ms) else max(latency_ms - inside_app, 0.0)
    return database, inside_app - database, outside


def time_breakdown_svg(
    splits: Mapping[str, tuple[float, float, float]], title: str, salt: str
) -> str:
    """Per variant, a stacked horizontal bar of its mean time by `time_split` part."""
    figure = Figure(figsize=(CHART_WIDTH_IN, 0.55 * len(splits) + 1.5), layout="constrained")
    axes = figure.add_subplot()
    names = list(splits)
    starts = np.zeros(len(names))
    for part, (label, color) in enumerate(zip(TIME_SPLIT_LABELS, TIME_SPLIT_COLORS, strict=True)):
        widths = np.array([splits[name][part] for name in names])
        axes.barh(names, widths, left=starts, color=color, label=label, height=0.6)
        starts += widths
    for row, total in enumerate(starts):
        axes.annotate(f" {total:.3g} ms", (total, row), va="center", fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("time per request (ms)")
    axes.margins(x=0.12)
    _style(axes, title)
    figure.legend(fontsize=8, frameon=False, ncols=3, loc="outside lower center")
    return _svg(figure, salt)


def scaling_svg(
    points: Sequence[str], medians: Mapping[str, Sequence[float]], title: str, salt: str
) -> str:
    """Median latency (log ms) at each sweep point, one line per variant."""
    figure = Figure(figsize=(CHART_WIDTH_IN, 3.0))
    axes = figure.add_subplot()
    for variant, values in medians.items():
        axes.plot(list(points), list(values), marker="o", label=variant, linewidth=1.6)
    _log_ms_axis(axes)
    axes.set_xlabel("sweep point")
    axes.set_ylabel("p50 latency (ms, log scale)")
    _style(axes, title)
    axes.legend(fontsize=8, frameon=False)
    return _svg(figure, salt)
