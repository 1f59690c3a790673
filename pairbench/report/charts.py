"""Charts for the HTML report: matplotlib figures rendered to inline SVG text.

Figures are built with the object API (no pyplot state), so nothing needs closing and
no GUI backend is ever touched; each SVG gets its own id salt so that several charts
can live in one HTML page without their internal ids colliding.
"""

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, LogFormatter, NullLocator

from pairbench.stats.curves import nines

# Percentiles on a "nines" axis: x = -log10(1 - p/100), so 90, 99, 99.9 are evenly spaced.
PERCENTILE_TICKS = (0.0, 50.0, 90.0, 99.0, 99.9)
CHART_WIDTH_IN = 7.5
TIME_SPLIT_LABELS = ("database (metered)", "app, outside the database", "network, queue, client")
TIME_SPLIT_COLORS = ("#4c72b0", "#dd8452", "#b8b8b8")
GROUP_ID = re.compile(r'\sid="[\w.]+_\d+"')
PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3")


@dataclass(frozen=True)
class Series:
    """One percentile curve: its label, (percentile, latency) points, colour, dash, sample count."""

    label: str
    percentiles: npt.NDArray[np.float64]
    latency_ms: npt.NDArray[np.float64]
    samples: int
    color: str
    dashed: bool = False


def variant_colors(variants: Sequence[str]) -> dict[str, str]:
    """A fixed colour per variant, in the technique's order, the same in every chart."""
    return {variant: PALETTE[index % len(PALETTE)] for index, variant in enumerate(variants)}


def svg_text(figure: Figure, salt: str) -> str:
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


def style_axes(axes: Axes, title: str) -> None:
    axes.set_title(title, fontsize=10, loc="left")
    axes.grid(True, which="major", color="#e0e0e0", linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def log_ms_axis(axes: Axes) -> None:
    """A log-scale y axis labelled with plain numbers (20, 50, 100), not 2x10^1."""
    axes.set_yscale("log")
    for formatter in (axes.yaxis.set_major_formatter, axes.yaxis.set_minor_formatter):
        formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def percentile_curves_svg(series: Sequence[Series], title: str, salt: str) -> str:
    """Latency (log ms) against percentile 0..99.9, one line per series (stats' curves)."""
    figure = Figure(figsize=(CHART_WIDTH_IN, 3.4))
    axes = figure.add_subplot()
    for line in series:
        if len(line.latency_ms):
            axes.plot(
                nines(line.percentiles),
                line.latency_ms,
                label=f"{line.label} (n={line.samples:,})",
                color=line.color,
                linestyle="--" if line.dashed else "-",
                linewidth=1.6,
            )
    log_ms_axis(axes)
    axes.xaxis.set_major_locator(FixedLocator(nines(PERCENTILE_TICKS).tolist()))
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xticklabels([f"{tick:g}" for tick in PERCENTILE_TICKS])
    axes.set_xlabel("percentile")
    axes.set_ylabel("latency (ms, log scale)")
    style_axes(axes, title)
    if axes.lines:
        axes.legend(fontsize=8, frameon=False)
    return svg_text(figure, salt)


def time_split(db_ms: float, app_ms: float, latency_ms: float) -> tuple[float, float, float]:
    """Mean latency cut into (database, rest of the app, outside the app), in ms.

    The meter's app time runs until the response starts; what the client saw beyond it is
    network, queueing and the client itself. An unmetered part counts as zero.
    """
    database = 0.0 if math.isnan(db_ms) else db_ms
    inside_app = database if math.isnan(app_ms) else max(app_ms, database)
    outside = 0.0 if math.isnan(latency_ms) else max(latency_ms - inside_app, 0.0)
    return database, inside_app - database, outside


def bars_svg(
    bars: Sequence[tuple[str, float, float, float]],
    title: str,
    unit: str,
    salt: str,
    colors: Sequence[str] | None = None,
) -> str:
    """Horizontal bars (label, value, CI low, CI high) with their CIs as error bars."""
    figure = Figure(figsize=(CHART_WIDTH_IN, 0.5 * len(bars) + 1.2), layout="constrained")
    axes = figure.add_subplot()
    names = [bar[0] for bar in bars]
    values = np.array([bar[1] for bar in bars], dtype=float)
    lows = np.array([bar[2] for bar in bars], dtype=float)
    highs = np.array([bar[3] for bar in bars], dtype=float)
    errors = np.nan_to_num(np.vstack([values - lows, highs - values]).clip(min=0))
    colors = colors or [PALETTE[index % len(PALETTE)] for index in range(len(bars))]
    axes.barh(names, np.nan_to_num(values), color=list(colors), height=0.6)
    axes.errorbar(np.nan_to_num(values), names, xerr=errors, fmt="none", ecolor="#222", capsize=4)
    for row, (value, high) in enumerate(zip(values, highs, strict=True)):
        if math.isfinite(value):
            end = high if math.isfinite(high) else value
            axes.annotate(f"  {value:,.3g}", (end, row), va="center", fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(unit)
    axes.margins(x=0.15)
    style_axes(axes, title)
    return svg_text(figure, salt)


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
    style_axes(axes, title)
    figure.legend(fontsize=8, frameon=False, ncols=3, loc="outside lower center")
    return svg_text(figure, salt)
