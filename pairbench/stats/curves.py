"""Latency percentile curves: each variant's latency at 200 percentiles from 0 to 99.9.

The report draws them on a "nines" axis (50, 90, 99, 99.9 evenly spaced), so the
percentiles are spread evenly on it too. In open loop a variant has two curves: its
latency from the intended send time ("latency") and from the actual send ("service").
"""

import numpy as np
import numpy.typing as npt
import pandas as pd

from pairbench.results import OPEN, SAMPLE_COLUMNS, SEGMENT_KEY, with_columns
from pairbench.stats.requests import measured_successful

TOP_PERCENTILE = 99.9
CURVE_POINTS = 200
LATENCY, SERVICE = "latency", "service"  # from the intended send / from the actual send
CURVE_COLUMNS = [
    "technique",
    "point",
    "mode",
    "variant",
    "series",
    "percentile",
    "latency_ms",
    "samples",
]


def nines(percent: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Position of a percentile on the nines axis: -log10(1 - p/100)."""
    return -np.log10(1.0 - np.asarray(percent, dtype=float) / 100.0)


def percentile_grid() -> npt.NDArray[np.float64]:
    """CURVE_POINTS percentiles from 0 to TOP_PERCENTILE, evenly spaced on the nines axis."""
    return 100.0 * (1.0 - 10.0 ** -np.linspace(0.0, float(nines(TOP_PERCENTILE)), CURVE_POINTS))


def curve(values: npt.ArrayLike, grid: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The latencies at the grid's percentiles (linear interpolation, as every percentile)."""
    found: npt.NDArray[np.float64] = np.percentile(
        np.asarray(values, dtype=float), grid, method="linear"
    )
    return found


def latency_curves(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per technique x point x mode x variant x series x percentile (CURVE_COLUMNS)."""
    ok = measured_successful(with_columns(samples, SAMPLE_COLUMNS))
    grid = percentile_grid()
    parts = []
    for key, frame in ok.groupby(SEGMENT_KEY, sort=False):
        series = {LATENCY: frame["latency_ms"].to_numpy(dtype=float)}
        if key[3] == OPEN:
            lag = frame["send_lag_ms"].fillna(0.0).to_numpy(dtype=float)
            series[SERVICE] = series[LATENCY] - lag
        for name, values in series.items():
            values = values[np.isfinite(values)]
            if not values.size:
                continue
            part = pd.DataFrame({"percentile": grid, "latency_ms": curve(values, grid)})
            part = part.assign(series=name, samples=values.size)
            parts.append(part.assign(**dict(zip(SEGMENT_KEY, (str(k) for k in key), strict=True))))
    if not parts:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    return pd.concat(parts, ignore_index=True)[CURVE_COLUMNS]
