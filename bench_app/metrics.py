"""Prometheus metrics of the target app, on GET /metrics: what an operator would watch.

- `http_request_duration_seconds{method, route, status}`: a histogram per route
  *template* (never the raw path: a label per distinct URL grows without bound) and
  status class, with fixed buckets around the seed's 200 ms SLO.
- `http_requests_in_flight`: requests being served now.
- `pairbench_db_pool_checked_out`, `..._overflow`, `..._size`: the pool, read at scrape time.
- `pairbench_db_statements_total{route}`, `pairbench_db_seconds_total{route}`,
  `pairbench_cache_hits_total{route}`, `pairbench_cache_misses_total{route}`: from the
  cost meter's record of each request, added once when it ends (no hook of their own;
  with the meter off they are absent).
- `pairbench_event_loop_lag_seconds` (latest sample) and `..._max_seconds` (the largest
  since the last scrape): see bench_app.loop_lag.
- `pairbench_gc_collections_total{generation}`, `pairbench_gc_pause_seconds_total{generation}`:
  the cyclic collector's runs and the time they stopped the process (bench_app.gc_watch).
- `process_resident_memory_bytes`, CPU seconds, open fds: prometheus-client's own, and
  `pairbench_memory_available_bytes`: what the process may use (its cgroup's limit, else
  the host's RAM; bench_app.memory_limit), so an alert can divide one by the other.

The request figures are counted in plain lists and handed to prometheus-client only when
scraped: its Histogram and Counter take a lock and make a call per bucket and per sum on
every observation, which one event loop needs no more than it needs the lock.

Metrics live in the process that serves the request. Under one uvicorn worker (how
pairbench serves) /metrics is the whole app. With several workers each keeps its own
and a scrape reaches one of them at random, so the figures would jump between
processes: scrape each worker as its own target (one port each), or use
prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR), which sums counters
and histograms across processes but not custom collectors like the pool's and the
loop lag's, which are per process by nature.
"""

import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench_app.gc_watch import GcWatch
from bench_app.loop_lag import LoopLagSampler
from bench_app.memory_limit import memory_available_bytes
from bench_app.metering import RequestCost
from bench_app.routing import route_template

# Fixed buckets around the SLO (p95 < 200 ms): fine below it, coarse above it. Each
# bucket is one more series per route and status class.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 10.0)
BUCKET_BOUNDS = [*map(floatToGoString, DURATION_BUCKETS), "+Inf"]  # the `le` labels
STATUS_CLASSES = {digit: f"{digit}xx" for digit in range(1, 6)}


def status_class(status: int) -> str:
    """200 -> "2xx": a bounded label, unlike the status itself."""
    return STATUS_CLASSES.get(status // 100, "other")


class GaugesAtScrape(Collector):
    """Gauges whose values are read when scraped, so serving a request costs them nothing."""

    def __init__(self, gauges: dict[str, tuple[str, Callable[[], float | None]]]) -> None:
        self.gauges = gauges  # name -> (help, read: None when there is nothing to report)

    def collect(self) -> Iterator[Metric]:
        for name, (documentation, read) in self.gauges.items():
            value = read()
            if value is not None:
                yield GaugeMetricFamily(name, documentation, value=value)


class RequestFigures(Collector):
    """Each request's duration by method, route and status class, and its metered costs by
    route, kept as plain numbers and turned into metric families when scraped."""

    def __init__(self) -> None:
        # (method, route, status class) -> a count per bucket (the last one +Inf), then the sum
        self.durations: dict[tuple[str, str, str], list[float]] = {}
        # (method, route, status) -> its status class's list in `durations`: one lookup a request
        self.by_status: dict[tuple[str, str, int], list[float]] = {}
        # route -> [statements, seconds in them, cache hits, cache misses]
        self.costs: dict[str, list[float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        counts = self.by_status.get((method, route, status))
        if counts is None:
            labels = (method, route, status_class(status))
            counts = self.durations.setdefault(labels, [0.0] * (len(BUCKET_BOUNDS) + 1))
            self.by_status[method, route, status] = counts
        counts[bisect_left(DURATION_BUCKETS, seconds)] += 1  # a bucket counts `<= le`
        counts[-1] += seconds

    def add_costs(self, route: str, cost: RequestCost) -> None:
        totals = self.costs.get(route)
        if totals is None:
            totals = self.costs[route] = [0.0, 0.0, 0.0, 0.0]
        totals[0] += cost.queries
        totals[1] += cost.db_seconds
        totals[2] += cost.cache_hits
        totals[3] += cost.cache_misses

    def collect(self) -> Iterator[Metric]:
        duration = HistogramMetricFamily(
            "http_request_duration_seconds",
            "Time to serve a request, by method, route template and status class.",
            labels=["method", "route", "status"],
        )
        for labels, counts in self.durations.items():
            buckets = list(zip(BUCKET_BOUNDS, accumulate(counts[:-1]), strict=True))
            duration.add_metric(labels, buckets, counts[-1])
        yield duration
        for index, (name, documentation) in enumerate(COST_COUNTERS):
            family = CounterMetricFamily(name, documentation, labels=["route"])
            for route, totals in self.costs.items():
                family.add_metric([route], totals[index])
            yield family


class GcFigures(Collector):
    """The cyclic collector's runs and pause seconds per generation, read when scraped."""

    def __init__(self, metrics: "AppMetrics") -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        watch = self.metrics.gc
        if watch is None:
            return
        collections = CounterMetricFamily(
            "pairbench_gc_collections", "Garbage collections run.", labels=["generation"]
        )
        pauses = CounterMetricFamily(
            "pairbench_gc_pause_seconds",
            "Time garbage collections stopped the process.",
            labels=["generation"],
        )
        for generation, count in watch.collections.items():
            collections.add_metric([str(generation)], count)
            pauses.add_metric([str(generation)], watch.pause_s[generation])
        yield collections
        yield pauses


COST_COUNTERS = (  # in the order of RequestFigures.costs' lists
    ("pairbench_db_statements", "SQL statements sent."),
    ("pairbench_db_seconds", "Time spent in SQL statements."),
    ("pairbench_cache_hits", "Lookups answered by a cache."),
    ("pairbench_cache_misses", "Lookups a cache could not answer."),
)


class AppMetrics:
    """The app's metrics in their own registry (one per app instance, as tests make several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.in_flight = 0  # a plain int: one event loop, and read only when scraped
        self.loop_lag: LoopLagSampler | None = None
        self.pool: Any = None  # the SQLAlchemy pool, once the app has started
        self.gc: GcWatch | None = None
        self.requests = RequestFigures()
        self.registry.register(self.requests)
        ProcessCollector(registry=self.registry)
        self.registry.register(GcFigures(self))
        self.registry.register(
            GaugesAtScrape(
                {
                    "http_requests_in_flight": ("Requests being served.", lambda: self.in_flight),
                    "pairbench_db_pool_checked_out": (
                        "Pooled database connections in use.",
                        lambda: self._pool("checkedout"),
                    ),
                    "pairbench_db_pool_overflow": (
                        "Connections opened beyond the pool's size (negative: room left).",
                        lambda: self._pool("overflow"),
                    ),
                    "pairbench_db_pool_size": ("The pool's size.", lambda: self._pool("size")),
                    "pairbench_event_loop_lag_seconds": (
                        "How late the event loop ran the latest sample's callback.",
                        lambda: self.loop_lag.latest_s if self.loop_lag else None,
                    ),
                    "pairbench_event_loop_lag_max_seconds": (
                        "The largest event-loop lag since the previous scrape.",
                        lambda: self.loop_lag.take_max() if self.loop_lag else None,
                    ),
                    "pairbench_memory_available_bytes": (
                        "Memory the process may use: its cgroup's limit, else the host's.",
                        lambda: float(memory_available_bytes()),
                    ),
                }
            )
        )

    def _pool(self, method: str) -> float | None:
        read = getattr(self.pool, method, None)
        return float(read()) if read is not None else None

    def started(self) -> None:
        self.in_flight += 1

    def finished(self, scope: Scope, status: int, seconds: float, cost: RequestCost | None) -> None:
        """Count one finished request, and its metered costs if it was metered."""
        self.in_flight -= 1
        route = route_template(scope)
        self.requests.observe(scope["method"], route, status, seconds)
        if cost is not None and (cost.queries or cost.cache_hits or cost.cache_misses):
            self.requests.add_costs(route, cost)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The registry in the format the scraper asked for (text, or OpenMetrics)."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class MetricsMiddleware:
    """Times every HTTP request into the app's metrics, labelled by route template.

    A pure ASGI middleware: a BaseHTTPMiddleware would run each request in a task
    group of its own and cost several times more (see the instrumentation technique).
    Only where the cost meter is off: with it on, the meter tells the metrics itself
    (see CostMeterMiddleware's observer), which saves a layer on every request.
    """

    def __init__(self, app: ASGIApp, metrics: AppMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before it answers

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.started()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self.metrics.finished(scope, status, time.perf_counter() - started, None)


router = APIRouter(tags=["monitoring"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus exposition.", "content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    """The app's metrics in Prometheus' text format (OpenMetrics if the scraper asks)."""
    app_metrics: AppMetrics = request.app.state.metrics
    body, content_type = app_metrics.exposition(request.headers.get("accept"))
    return Response(body, media_type=content_type)
