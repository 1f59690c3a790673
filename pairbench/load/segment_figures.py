"""Figures of a whole load segment, beside its per-request samples: what the stub counted
(upstream connections and requests) and the app's event-loop lag.

The measuring loop brackets each segment:

    watch = SegmentWatch.start(client, upstream)      # just before the load starts
    ...                                               # the segment runs
    row.update(watch.finish(since, until))              # columns for segments.csv

Give finish() the measured window (first measured send to last completion), so the lag
leaves out the warm-up and the generator's start-up, as the samples do.
"""

from dataclasses import dataclass

import httpx
import numpy as np
import pandas as pd

from pairbench.env.upstream import Upstream, UpstreamCounts
from pairbench.results import SEGMENT_FIGURES
from pairbench.stats.stability import MEASURE_PHASE as MEASURE


@dataclass(frozen=True)
class SegmentWatch:
    """What was counted when a segment started, to subtract when it ends."""

    client: httpx.Client  # the harness's client of the app (its base URL set)
    upstream: Upstream | None
    upstream_before: UpstreamCounts | None

    @classmethod
    def start(cls, client: httpx.Client, upstream: Upstream | None) -> "SegmentWatch":
        return cls(client, upstream, upstream.counts() if upstream is not None else None)

    def finish(self, since: float, until: float) -> dict[str, float]:
        """The segment's figures, keyed as SEGMENT_FIGURES."""
        figures: dict[str, float] = dict.fromkeys(SEGMENT_FIGURES, float("nan"))
        if self.upstream is not None and self.upstream_before is not None:
            seen = self.upstream.counts() - self.upstream_before
            figures.update(upstream_connections=seen.connections, upstream_requests=seen.requests)
        response = self.client.get("/loop-lag", params={"since": since, "until": until})
        response.raise_for_status()
        lags = np.asarray(response.json()["lags_ms"], dtype=float)
        if lags.size:
            figures.update(
                loop_lag_p99_ms=float(np.percentile(lags, 99.0)),
                loop_lag_max_ms=float(lags.max()),
                loop_lag_samples=float(lags.size),
            )
        return figures


def measured_window(frame: pd.DataFrame, started: float, ended: float) -> tuple[float, float]:
    """From a segment's first measured send to its last completion (else the whole segment)."""
    measured = frame[(frame["phase"] == MEASURE) & frame["latency_ms"].notna()]
    if not len(measured):
        return started, ended
    finished = measured["t_start"] + measured["latency_ms"] / 1000.0
    return float(measured["t_start"].min()), float(finished.max())
