"""Whole-segment figures in the summary: the stub's counts per request, the event-loop lag.

Per technique x variant x point x load mode, over its segments: upstream connections
and calls the stub counted, per request the variant's load sent during those segments
(warm-up included, as the stub counts the whole segment), and the app's event-loop lag
(each segment's p99 over its measured window, then the median over segments; the max),
for work handed to a job worker its enqueue-to-done latency (per segment, median over
segments) and the most jobs in progress at once, and the app's garbage collections over the
measured windows: collections and pause time per 1,000 measured requests (the load's own
and any other kind's: a collection stops them all), and the longest pause.
"""

from typing import Any

import numpy as np
import pandas as pd

from pairbench.results import SEGMENT_KEY, TARGET_NAME, SegmentKey
from pairbench.stats.requests import measured, own, sent

PER_TARGET_REQUEST = ["stub_connections_per_request", "stub_calls_per_request"]
SEGMENT_SUMMARY_COLUMNS = [
    "stub_connections_per_request",
    "stub_calls_per_request",
    "loop_lag_p99_ms",
    "loop_lag_max_ms",
    "job_done_p50_ms",
    "job_done_p99_ms",
    "jobs_in_progress_max",
    "gc_collections_per_1k",
    "gc_pause_ms_per_1k",
    "gc_pause_max_ms",
]
GC_PER_REQUESTS = 1_000
# Variants' GC pauses "differ" (the report shows them) when the largest per 1,000 requests
# is this many times the smallest: within it, collections are the run's background.
GC_DIFFERENCE = 1.5


def segment_summary(
    samples: pd.DataFrame, segments: pd.DataFrame
) -> dict[SegmentKey, dict[str, Any]]:
    """SEGMENT_SUMMARY_COLUMNS for each (technique, variant, point, mode) with segments."""
    found: dict[SegmentKey, dict[str, Any]] = {}
    if segments.empty:
        return found
    requests = sent(own(samples)).groupby(SEGMENT_KEY).size()
    measured_requests = measured(samples).groupby(SEGMENT_KEY).size()
    for key, part in segments.groupby(SEGMENT_KEY):
        named = (str(key[0]), str(key[1]), str(key[2]), str(key[3]))
        sent_requests = int(requests.get(key, 0))
        row = dict.fromkeys(SEGMENT_SUMMARY_COLUMNS, np.nan)
        for column, count in (
            ("stub_connections_per_request", "upstream_connections"),
            ("stub_calls_per_request", "upstream_requests"),
        ):
            total = part[count].sum(min_count=1) if count in part else np.nan
            if sent_requests and pd.notna(total):
                row[column] = float(total) / sent_requests
        if "loop_lag_p99_ms" in part and part["loop_lag_p99_ms"].notna().any():
            row["loop_lag_p99_ms"] = float(part["loop_lag_p99_ms"].median())
            row["loop_lag_max_ms"] = float(part["loop_lag_max_ms"].max())
        if "job_done_p50_ms" in part and part["job_done_p50_ms"].notna().any():
            row["job_done_p50_ms"] = float(part["job_done_p50_ms"].median())
            row["job_done_p99_ms"] = float(part["job_done_p99_ms"].median())
            row["jobs_in_progress_max"] = float(part["jobs_in_progress_max"].max())
        row.update(_gc_figures(part, int(measured_requests.get(key, 0))))
        found[named] = row
    return found


def _gc_figures(part: pd.DataFrame, requests: int) -> dict[str, float]:
    """GC collections and pause ms per GC_PER_REQUESTS measured requests, and the longest
    pause, over a variant's segments (NaN for runs from before they were read)."""
    if "gc_pause_ms" not in part or not part["gc_pause_ms"].notna().any() or not requests:
        return {}
    per = GC_PER_REQUESTS / requests
    return {
        "gc_collections_per_1k": float(part["gc_collections"].sum()) * per,
        "gc_pause_ms_per_1k": float(part["gc_pause_ms"].sum()) * per,
        "gc_pause_max_ms": float(part["gc_pause_max_ms"].max()),
    }


def gc_pauses_differ(pauses_per_1k: list[float]) -> bool:
    """Whether variants' GC pause per 1,000 requests differ enough to show (GC_DIFFERENCE)."""
    known = [value for value in pauses_per_1k if np.isfinite(value)]
    if len(known) < 2:
        return False
    least, most = min(known), max(known)
    return most > 0 and most >= least * GC_DIFFERENCE


def segment_figures_of(figures: dict[str, Any], name: str) -> dict[str, Any]:
    """A segment's figures for the summary row of request kind `name`: the stub's counts
    are per request of the variant itself, so other kinds (bystanders) do not get them."""
    if name in (TARGET_NAME, ""):
        return figures
    return {column: value for column, value in figures.items() if column not in PER_TARGET_REQUEST}
