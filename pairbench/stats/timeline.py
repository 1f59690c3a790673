"""Latency over time, Gatling-style: p50 and p99 per time bin across a point's segments.

Interleaved segments (A B C A B C) sit side by side on one time axis, so drift of the
machine, warm-up left in, or one noisy segment shows at a glance. Samples are reduced
to at most MAX_BINS bins per point and load mode, whatever the run length.
"""

import numpy as np
import pandas as pd

from pairbench.results import SAMPLE_COLUMNS, with_columns
from pairbench.stats.requests import measured_successful

MAX_BINS = 150
MIN_BIN_S = 0.5
TIMELINE_COLUMNS = [
    "technique",
    "point",
    "mode",
    "variant",
    "t_s",
    "p50_ms",
    "p99_ms",
    "bin_s",
]


def binned_percentiles(frame: pd.DataFrame, origin: float, width: float) -> pd.DataFrame:
    """Per time bin of `width` seconds from `origin`: p50 and p99 latency, indexed by the
    bin's middle; bins without samples kept as NaN rows so that lines break between
    segments."""
    bins = np.floor((frame["t_start"].to_numpy(dtype=float) - origin) / width).astype(int)
    grouped = frame["latency_ms"].groupby(bins)
    table = pd.DataFrame({"p50_ms": grouped.median(), "p99_ms": grouped.quantile(0.99)})
    if table.empty:
        return table
    every = pd.RangeIndex(int(table.index.min()), int(table.index.max()) + 1)
    table = table.reindex(every)
    table.index = table.index * width + width / 2.0
    return table


def latency_timeline(samples: pd.DataFrame) -> pd.DataFrame:
    """Per technique, point and load mode, each variant's binned p50 and p99 over time.

    t_s counts seconds from the point's first measured request in that mode, so all its
    variants share one axis; bin_s is the bins' width.
    """
    ok = measured_successful(with_columns(samples, SAMPLE_COLUMNS))
    parts = []
    for (technique, point, mode), frame in ok.groupby(["technique", "point", "mode"], sort=False):
        origin = float(frame["t_start"].min())
        width = max(MIN_BIN_S, (float(frame["t_start"].max()) - origin) / MAX_BINS)
        for variant, part in frame.groupby("variant", sort=False):
            table = binned_percentiles(part, origin, width).rename_axis("t_s").reset_index()
            parts.append(
                table.assign(
                    technique=str(technique),
                    point=str(point),
                    mode=str(mode),
                    variant=str(variant),
                    bin_s=width,
                )
            )
    if not parts:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    return pd.concat(parts, ignore_index=True)[TIMELINE_COLUMNS]
