"""Figures of a whole load segment, beside its per-request samples: what the stub counted
(upstream connections and requests), the app's event-loop lag and its garbage collections,
and how far Redis's memory grew (used_memory, read before the load and after it: over the
whole segment, warm-up included).

The measuring loop brackets each segment:

    watch = SegmentWatch.start(client, upstream, technique)  # before the load starts
    ...                                               # the segment runs
    figures, jobs = watch.finish(segment.measure_start, segment.measure_end)
    row.update(figures)  # segments.csv; jobs.csv gets the jobs

finish() reads the lag and the collections over the measured window, leaving out the
warm-up and the generator's start-up, as the samples do.
"""

from dataclasses import dataclass

import httpx
import numpy as np

from bench_app.headline import REDIS_GROWTH
from bench_app.technique import Technique
from pairbench.env.upstream import Upstream, UpstreamCounts
from pairbench.results import SEGMENT_FIGURES


@dataclass(frozen=True)
class SegmentWatch:
    """What was counted when a segment started, to subtract when it ends."""

    client: httpx.Client  # the harness's client of the app (its base URL set)
    upstream: Upstream | None
    technique: Technique
    upstream_before: UpstreamCounts | None
    redis_before: int | None = None  # Redis's used_memory as the segment started (bytes)

    @classmethod
    def start(
        cls, client: httpx.Client, upstream: Upstream | None, technique: Technique
    ) -> "SegmentWatch":
        before = upstream.counts() if upstream is not None else None
        return cls(client, upstream, technique, before, redis_used_memory(client, technique))

    def finish(self, since: float, until: float) -> tuple[dict[str, float], list[list[float]]]:
        """The segment's figures, keyed as SEGMENT_FIGURES, and the (requested_at, done_at)
        of each job its measured window handed to a worker (none if it hands none on)."""
        figures: dict[str, float] = dict.fromkeys(SEGMENT_FIGURES, float("nan"))
        if self.upstream is not None and self.upstream_before is not None:
            seen = self.upstream.counts() - self.upstream_before
            figures.update(upstream_connections=seen.connections, upstream_requests=seen.requests)
        response = self.client.get("/loop-lag", params={"since": since, "until": until})
        if response.status_code == 404:  # a user's own app (`pairbench ab`): no lag, no GC
            return figures, []
        response.raise_for_status()
        lags = np.asarray(response.json()["lags_ms"], dtype=float)
        if lags.size:
            figures.update(
                loop_lag_p99_ms=float(np.percentile(lags, 99.0)),
                loop_lag_max_ms=float(lags.max()),
                loop_lag_samples=float(lags.size),
            )
        response = self.client.get("/gc-pauses", params={"since": since, "until": until})
        response.raise_for_status()
        collected = response.json()
        figures.update(
            gc_collections=float(collected["collections"]),
            gc_pause_ms=float(collected["pause_ms"]),
            gc_pause_max_ms=float(collected["max_pause_ms"]),
        )
        redis_after = redis_used_memory(self.client, self.technique)
        if self.redis_before is not None and redis_after is not None:
            figures.update(redis_growth_mb=(redis_after - self.redis_before) / 2**20)
        jobs: list[list[float]] = []
        if self.technique.deferred_work_path is not None:
            jobs = self._deferred_work(since, until)
            figures.update(deferred_work_figures(jobs))
        return figures, jobs

    def _deferred_work(self, since: float, until: float) -> list[list[float]]:
        """Jobs requested in the window, as (requested_at, done_at): the app answers once its
        queue has drained, so every job listed is done."""
        path = str(self.technique.deferred_work_path)
        response = self.client.get(path, params={"since": since, "until": until})
        response.raise_for_status()
        jobs: list[list[float]] = response.json()["jobs"]
        return jobs


def redis_used_memory(client: httpx.Client, technique: Technique) -> int | None:
    """The Redis memory the technique's headline counts, as the app reads it: Redis's
    used_memory (settled at rest where it is the headline: bench_app.redis_memory), or what
    the technique's own keys hold (Technique.redis_memory_path); None where the app has no
    such route."""
    settle = technique.headline.figure == REDIS_GROWTH
    response = client.get(technique.redis_memory_path, params={"settle": settle})
    if response.status_code == 404:  # a user's own app (`pairbench ab`)
        return None
    response.raise_for_status()
    used: int = response.json()["used_memory"]
    return used


def deferred_work_figures(jobs: list[list[float]]) -> dict[str, float]:
    """From (requested_at, done_at) pairs: count, enqueue-to-done p50 and p99, and the most
    jobs in progress (requested, not yet done) at any moment."""
    pairs = np.asarray(jobs, dtype=float).reshape(-1, 2)
    if not len(pairs):
        return {"jobs_done": 0.0}
    done_ms = (pairs[:, 1] - pairs[:, 0]) * 1000.0
    # The count peaks just after a request: requested by then, minus done by then.
    requested, done = np.sort(pairs[:, 0]), np.sort(pairs[:, 1])
    in_progress = np.arange(1, len(requested) + 1) - np.searchsorted(done, requested, "right")
    return {
        "jobs_done": float(len(pairs)),
        "job_done_p50_ms": float(np.percentile(done_ms, 50.0)),
        "job_done_p99_ms": float(np.percentile(done_ms, 99.0)),
        "jobs_in_progress_max": float(in_progress.max()),
    }
