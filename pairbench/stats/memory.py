"""Memory and first-byte figures per variant: from the segments' RSS and the samples' TTFB.

Growth counts the measured phase only (from a segment's first measured request to its
end), so a fresh process's start-up allocations and a cache filling during the warm-up
do not read as a leak.
"""

import math
from typing import Any

import numpy as np
import pandas as pd

from pairbench.results import APP_FRESH, APP_SHARED
from pairbench.stats.requests import measured, measured_successful

MEMORY_COLUMNS = [
    "peak_rss_mb",
    "rss_growth_mb",
    "rss_growth_per_10k_mb",
    "fresh_process",
    "app_process",
    "ttfb_p50_ms",
    "memory_share",
    "redis_growth_per_10k_mb",
]
GROWTH_PER_REQUESTS = 10_000
# Below this many requests, a growth rate is mostly the noise of a few allocations.
MIN_REQUESTS_FOR_GROWTH_RATE = 1_000


def memory_figures(
    segments: pd.DataFrame, samples: pd.DataFrame, sent: int | None = None
) -> dict[str, Any]:
    """One variant's figures at one point and mode, from its segment rows and its samples.

    peak_rss_mb: the app's highest RSS in any of its segments; rss_growth_mb: the mean
    measured-phase growth per segment; rss_growth_per_10k_mb: that growth summed, per
    10,000 requests sent in the measured phases (given MIN_REQUESTS_FOR_GROWTH_RATE of
    them); fresh_process: every segment ran in a fresh app process; app_process: which
    process served its segments (results.APP_SHARED, APP_FRESH or APP_OWN; "mixed" if they
    differ, and from fresh_process for runs older than the column); ttfb_p50_ms: median
    time to first byte of measured, successful requests (where the workload timed it);
    memory_share: peak_rss_mb over the memory available to the app (the memory SLO's
    figure); redis_growth_per_10k_mb: Redis's used_memory growth over the segments (read
    around each whole segment), per 10,000 of the `sent` requests of every phase. NaN (or
    False) where the run has no such data.
    """
    nan = math.nan
    peaks = _floats(segments, "rss_peak_mb")
    available = _floats(segments, "memory_available_mb")
    growths = _floats(segments, "rss_measured_growth_mb")
    requests = len(measured(samples))
    ok = measured_successful(samples)
    ttfb = ok["ttfb_ms"].dropna().to_numpy(dtype=float) if "ttfb_ms" in ok else np.array([])
    redis_growths = _floats(segments, "redis_growth_mb")
    fresh = [_true(value) for value in segments.get("fresh_process", [])]
    return {
        "peak_rss_mb": float(peaks.max()) if peaks.size else nan,
        "rss_growth_mb": float(growths.mean()) if growths.size else nan,
        "rss_growth_per_10k_mb": (
            float(growths.sum()) / requests * GROWTH_PER_REQUESTS
            if growths.size and requests >= MIN_REQUESTS_FOR_GROWTH_RATE
            else nan
        ),
        "fresh_process": bool(fresh) and all(fresh),
        "app_process": _app_process(segments, fresh),
        "ttfb_p50_ms": float(np.median(ttfb)) if ttfb.size else nan,
        "memory_share": (
            float(peaks.max()) / float(available.min()) if peaks.size and available.size else nan
        ),
        "redis_growth_per_10k_mb": (
            float(redis_growths.sum()) / sent * GROWTH_PER_REQUESTS
            if redis_growths.size and sent
            else nan
        ),
    }


def _app_process(segments: pd.DataFrame, fresh: list[bool]) -> str:
    if "app_process" in segments:
        kinds = set(segments["app_process"].dropna().astype(str))
    else:
        kinds = {APP_FRESH if is_fresh else APP_SHARED for is_fresh in fresh}
    return kinds.pop() if len(kinds) == 1 else "mixed" if kinds else ""


def _floats(frame: pd.DataFrame, column: str) -> "np.ndarray[Any, np.dtype[np.float64]]":
    if column not in frame:
        return np.array([], dtype=float)
    values = pd.to_numeric(frame[column], errors="coerce").dropna()
    return values.to_numpy(dtype=float)


def _true(value: Any) -> bool:
    """A CSV cell that says true (pandas may hand back a bool or its text)."""
    return value is True or str(value).strip().lower() in ("true", "1", "1.0")
