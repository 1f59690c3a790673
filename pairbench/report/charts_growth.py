"""Cost against work over a sweep: measured points and the fitted curve, per variant."""

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from pairbench.report.charts import CHART_WIDTH_IN, log_ms_axis, style_axes, svg_text
from pairbench.results import RTT_PARAMETER
from pairbench.stats.growth import singular

LOG_AXIS_SPAN = 20.0  # values spanning more than this factor get a log axis
Curve = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]


def growth_svg(
    parameter: str,
    measured: Mapping[str, Sequence[tuple[float, float]]],
    curves: Mapping[str, Curve],
    colors: Mapping[str, str],
    title: str,
    salt: str,
    setting: bool = False,
) -> str:
    """Cost (ms) at each sweep value, one colour per variant, its fitted curve dashed.

    `curves` are the stats stage's fits, already evaluated over the measured range;
    `setting`: the parameter is a setting (a worker's concurrency), not work.
    """
    figure = Figure(figsize=(CHART_WIDTH_IN, 3.2))
    axes = figure.add_subplot()
    everything = [pair for pairs in measured.values() for pair in pairs]
    xs = np.array([x for x, _ in everything], dtype=float)
    ys = np.array([y for _, y in everything], dtype=float)
    for variant, pairs in measured.items():
        if not pairs:
            continue
        color = colors.get(variant, "#333")
        x, y = zip(*sorted(pairs), strict=True)
        axes.plot(x, y, marker="o", color=color, linewidth=1.4, label=variant)
        work, cost = curves.get(variant, (np.array([]), np.array([])))
        if len(work):
            axes.plot(work, cost, color=color, linestyle="--", linewidth=0.8, alpha=0.7)
    if xs.size and xs.min() > 0 and xs.max() / xs.min() > LOG_AXIS_SPAN:
        axes.set_xscale("log")
    if ys.size and ys.min() > 0 and ys.max() / ys.min() > LOG_AXIS_SPAN:
        log_ms_axis(axes)
        axes.set_ylabel("ms per request (log scale)")
    else:
        axes.set_ylabel("ms per request")
    if parameter == RTT_PARAMETER:
        axes.set_xlabel("round trip to PostgreSQL and Redis, ms (the RTT sweep)")
    elif setting:
        axes.set_xlabel(f"{parameter} (a setting)")
    else:
        axes.set_xlabel(f"{parameter} (work: {singular(parameter)}s per request)")
    style_axes(axes, title)
    if axes.lines:
        axes.legend(fontsize=8, frameon=False)
    return svg_text(figure, salt)
