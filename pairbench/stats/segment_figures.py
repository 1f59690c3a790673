"""Whole-segment figures in the summary: the stub's counts per request, the event-loop lag.

Per technique x variant x point x load mode, over its segments: upstream connections
and calls the stub counted, per request the variant's load sent during those segments
(warm-up included, as the stub counts the whole segment), and the app's event-loop lag
(each segment's p99 over its measured window, then the median over segments; the max),
and for work handed to a job worker its enqueue-to-done latency (per segment, median over
segments) and the most jobs in progress at once.
"""

from typing import Any

import numpy as np
import pandas as pd

from pairbench.results import SEGMENT_KEY, TARGET_NAME, SegmentKey
from pairbench.stats.requests import own, sent

PER_TARGET_REQUEST = ["stub_connections_per_request", "stub_calls_per_request"]
SEGMENT_SUMMARY_COLUMNS = [
    "stub_connections_per_request", "stub_calls_per_request", "loop_lag_p99_ms", "loop_lag_max_ms",
    "job_done_p50_ms", "job_done_p99_ms", "jobs_in_progress_max",
]  # fmt: skip


def segment_summary(
    samples: pd.DataFrame, segments: pd.DataFrame
) -> dict[SegmentKey, dict[str, Any]]:
    """SEGMENT_SUMMARY_COLUMNS for each (technique, variant, point, mode) with segments."""
    found: dict[SegmentKey, dict[str, Any]] = {}
    if segments.empty:
        return found
    requests = sent(own(samples)).groupby(SEGMENT_KEY).size()
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
        found[named] = row
    return found


def segment_figures_of(figures: dict[str, Any], name: str) -> dict[str, Any]:
    """A segment's figures for the summary row of request kind `name`: the stub's counts
    are per request of the variant itself, so other kinds (bystanders) do not get them."""
    if name in (TARGET_NAME, ""):
        return figures
    return {column: value for column, value in figures.items() if column not in PER_TARGET_REQUEST}
