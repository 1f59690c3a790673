"""Figures over time: latency per time bin, Gatling-style, and jobs in progress (queue depth).

Interleaved segments (A B C A B C) sit side by side on one time axis, so drift of the
machine, warm-up left in, or one noisy segment shows at a glance. Queue depth is drawn
over one measured window, its rounds averaged: a backlog shows as a rising line.
"""

from collections.abc import Mapping

import pandas as pd
from matplotlib.figure import Figure

from pairbench.report.charts import CHART_WIDTH_IN, log_ms_axis, style_axes, svg_text


def latency_over_time_svg(
    timeline: pd.DataFrame, colors: Mapping[str, str], title: str, salt: str
) -> str:
    """p50 (solid) and p99 (dotted) latency per time bin, one colour per variant.

    `timeline` holds one technique point's rows of timeline.csv in one load mode: variant,
    t_s (the bin's middle), p50_ms, p99_ms and bin_s; empty bins (NaN) break the lines.
    """
    figure = Figure(figsize=(CHART_WIDTH_IN, 3.4), layout="constrained")
    axes = figure.add_subplot()
    if len(timeline):
        for variant, color in colors.items():
            part = timeline[timeline["variant"] == variant]
            if part.empty:
                continue
            axes.plot(
                part["t_s"], part["p50_ms"], color=color, linewidth=1.4, label=f"{variant} p50"
            )
            axes.plot(
                part["t_s"],
                part["p99_ms"],
                color=color,
                linewidth=0.9,
                linestyle=":",
                label=f"{variant} p99",
            )
        width = float(timeline["bin_s"].iloc[0])
        axes.set_xlabel(f"seconds since the first measured request ({width:.2g} s bins)")
        log_ms_axis(axes)
        figure.legend(
            fontsize=7, frameon=False, ncols=min(6, 2 * len(colors)), loc="outside lower center"
        )
    axes.set_ylabel("latency (ms, log scale)")
    style_axes(axes, title)
    return svg_text(figure, salt)


def queue_depth_svg(depth: pd.DataFrame, colors: Mapping[str, str], title: str, salt: str) -> str:
    """Jobs in progress over the measured window: the rounds' mean (solid) and most (dotted).

    `depth` holds one technique point's rows of queue_depth.csv in one load mode: variant,
    t_s (seconds into the measured window), jobs_mean and jobs_max.
    """
    figure = Figure(figsize=(CHART_WIDTH_IN, 3.0), layout="constrained")
    axes = figure.add_subplot()
    for variant, color in colors.items():
        part = depth[depth["variant"] == variant]
        if part.empty:
            continue
        axes.plot(
            part["t_s"],
            part["jobs_mean"],
            color=color,
            linewidth=1.4,
            label=f"{variant}, mean of rounds",
        )
        axes.plot(
            part["t_s"],
            part["jobs_max"],
            color=color,
            linewidth=0.9,
            linestyle=":",
            label=f"{variant}, most in a round",
        )
    axes.set_xlabel("seconds into the measured window")
    axes.set_ylabel("jobs requested, not yet done")
    axes.set_ylim(bottom=0)
    if len(depth):
        figure.legend(fontsize=7, frameon=False, ncols=4, loc="outside lower center")
    style_axes(axes, title)
    return svg_text(figure, salt)
