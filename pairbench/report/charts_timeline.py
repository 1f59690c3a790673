"""Latency over time, Gatling-style: p50 and p99 per time bin across a technique's segments.

Interleaved segments (A B C A B C) sit side by side on one time axis, so drift of the
machine, warm-up left in, or one noisy segment shows at a glance. Samples are reduced
to at most MAX_BINS bins per chart, which keeps the SVG small whatever the run length.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pairbench.report.charts import CHART_WIDTH_IN, log_ms_axis, style_axes, svg_text

MAX_BINS = 150
MIN_BIN_S = 0.5


def binned_percentiles(frame: pd.DataFrame, origin: float, width: float) -> pd.DataFrame:
    """Per time bin of `width` seconds from `origin`: p50 and p99 latency, bins without
    samples kept as NaN rows so that lines break between segments."""
    bins = np.floor((frame["t_start"].to_numpy(dtype=float) - origin) / width).astype(int)
    grouped = frame["latency_ms"].groupby(bins)
    table = pd.DataFrame({"p50": grouped.median(), "p99": grouped.quantile(0.99)})
    if table.empty:
        return table
    every = pd.RangeIndex(int(table.index.min()), int(table.index.max()) + 1)
    table = table.reindex(every)
    table.index = table.index * width + width / 2.0
    return table


def latency_over_time_svg(
    frame: pd.DataFrame, colors: Mapping[str, str], title: str, salt: str
) -> str:
    """p50 (solid) and p99 (dotted) latency per time bin, one colour per variant.

    `frame` holds one technique point's successful measured samples of one load mode:
    variant, t_start (epoch s) and latency_ms.
    """
    figure = Figure(figsize=(CHART_WIDTH_IN, 3.4), layout="constrained")
    axes = figure.add_subplot()
    if len(frame):
        origin = float(frame["t_start"].min())
        span = float(frame["t_start"].max()) - origin
        width = max(MIN_BIN_S, span / MAX_BINS)
        for variant, color in colors.items():
            part = frame[frame["variant"] == variant]
            if part.empty:
                continue
            table = binned_percentiles(part, origin, width)
            axes.plot(table.index, table["p50"], color=color, linewidth=1.4, label=f"{variant} p50")
            axes.plot(
                table.index, table["p99"], color=color, linewidth=0.9, linestyle=":",
                label=f"{variant} p99",
            )  # fmt: skip
        axes.set_xlabel(f"seconds since the first measured request ({width:.2g} s bins)")
        log_ms_axis(axes)
        figure.legend(
            fontsize=7, frameon=False, ncols=min(6, 2 * len(colors)), loc="outside lower center"
        )
    axes.set_ylabel("latency (ms, log scale)")
    style_axes(axes, title)
    return svg_text(figure, salt)
