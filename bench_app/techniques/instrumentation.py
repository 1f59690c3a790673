"""Request instrumentation: a Prometheus histogram the tutorial way vs the way that scales.

Contract: GET .../users/{user_id} answers that user's id and name, one primary-key
lookup (404 if there is none). All variants serve this same endpoint; what differs is
the instrumentation around it, which times each request into a histogram for
Prometheus, and what that costs: per request, and in time series.

The tutorial recipe is a BaseHTTPMiddleware that labels the histogram with the raw
request path. Two mistakes in one: BaseHTTPMiddleware runs the rest of each request
in a task group of its own, with memory streams in between, and a raw path is a new
label set for every distinct id: every user ever requested adds 18 series (15 default
buckets, count, sum, created), which the process keeps for good and every scrape
sends. The fix is a pure ASGI middleware that labels by route template and status
class, with a few fixed buckets chosen around the SLO: one label set per route, a
constant number of series however many ids are requested.

Here each middleware wraps its own variant's route alone (bench_app.routing) and keeps
its own registry, so it costs that variant only; in an app you would add it with
`app.add_middleware` and it would time every route. The app's own /metrics (see
bench_app.metrics) is the optimized recipe, and all three variants pass through it
alike, as through the cost meter.
"""

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench_app.db import SessionDep
from bench_app.metrics import status_class
from bench_app.models import User
from bench_app.routing import get_through, route_template
from bench_app.technique import Technique

router = APIRouter(prefix="/instrumentation", tags=["instrumentation"])

DEFAULT_USER_ID = 1
WORKLOAD_USERS = 1000  # the Locust user walks ids 1..1000 (all exist at scale 1 and up)
SLO_BUCKETS = (0.01, 0.05, 0.1, 0.2, 0.5, 1.0)  # seconds: around the 200 ms p95 SLO

UserId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The user's id.")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No user has this id."}}


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    first_name: str
    last_name: str


async def read_user(session: SessionDep, user_id: int) -> UserOut:
    """The endpoint all variants share: one primary-key lookup of three columns."""
    query = select(User.id, User.first_name, User.last_name).where(User.id == user_id)
    user = (await session.execute(query)).one_or_none()
    if user is None:
        raise HTTPException(404, f"no user has the id {user_id}")
    return UserOut.model_validate(user)


# The naive instrumentation: the recipe most tutorials show.
RAW_PATH_REGISTRY = CollectorRegistry()


class RawPathHistogram(BaseHTTPMiddleware):
    """Times each request in a BaseHTTPMiddleware, labelled by method, raw path and status."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        super().__init__(app)
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Request duration.",
            ["method", "path", "status"],
            registry=registry,
        )

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        self.duration.labels(request.method, request.url.path, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response


@get_through(
    router,
    "/naive/users/{user_id}",
    Middleware(RawPathHistogram, registry=RAW_PATH_REGISTRY),
    response_model=UserOut,
    responses=NOT_FOUND,
)
async def naive(session: SessionDep, user_id: UserId) -> UserOut:
    """Timed by a BaseHTTPMiddleware labelling by raw path: a new label set for every id."""
    return await read_user(session, user_id)


# The optimized instrumentation: pure ASGI, route template, fixed buckets.
ROUTE_TEMPLATE_REGISTRY = CollectorRegistry()


class RouteTemplateHistogram:
    """Times each request in pure ASGI, labelled by method, route template and status class."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Request duration.",
            ["method", "route", "status"],
            buckets=SLO_BUCKETS,
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            labels = (scope["method"], route_template(scope), status_class(status))
            self.duration.labels(*labels).observe(time.perf_counter() - started)


@get_through(
    router,
    "/optimized/users/{user_id}",
    Middleware(RouteTemplateHistogram, registry=ROUTE_TEMPLATE_REGISTRY),
    response_model=UserOut,
    responses=NOT_FOUND,
)
async def optimized(session: SessionDep, user_id: UserId) -> UserOut:
    """Timed by a pure ASGI middleware labelling by route template: one label set per status
    class, however many ids."""
    return await read_user(session, user_id)


@router.get("/uninstrumented/users/{user_id}", response_model=UserOut, responses=NOT_FOUND)
async def uninstrumented(session: SessionDep, user_id: UserId) -> UserOut:
    """Not timed at all: the floor both instrumentations are measured against."""
    return await read_user(session, user_id)


# What the run keeps: how many series each variant's registry holds after the load.
REGISTRIES = {"naive": RAW_PATH_REGISTRY, "optimized": ROUTE_TEMPLATE_REGISTRY}


class SeriesCount(BaseModel):
    series: int  # sample lines a scrape returns (each bucket, count, sum and created)
    label_sets: int  # distinct label combinations: what grows with distinct paths


def series_count(registry: CollectorRegistry | None) -> SeriesCount:
    """How many time series a scrape of `registry` returns, and how many label sets."""
    samples = [
        sample for metric in (registry.collect() if registry else ()) for sample in metric.samples
    ]
    label_sets = {
        tuple(sorted((name, value) for name, value in sample.labels.items() if name != "le"))
        for sample in samples
    }
    return SeriesCount(series=len(samples), label_sets=len(label_sets))


@router.get("/series")
async def series() -> dict[str, SeriesCount]:
    """Each variant's series count so far (uninstrumented has none)."""
    return {variant: series_count(REGISTRIES.get(variant)) for variant in TECHNIQUE.variants}


EXPOSITION_LINES = 30  # of the naive registry, whose whole exposition runs to thousands


@router.get("/evidence")
async def evidence() -> dict[str, str]:
    """The run's artifacts: the series counts, and what each variant's /metrics looks like."""
    counts = {variant: series_count(REGISTRIES.get(variant)) for variant in TECHNIQUE.variants}
    lines = [
        f"{variant}: {count.series:,} series in {count.label_sets:,} label set(s)"
        for variant, count in counts.items()
    ]
    naive_lines = generate_latest(RAW_PATH_REGISTRY).decode().splitlines()
    return {
        "Series after the run": "\n".join(lines),
        f"naive's /metrics (first {EXPOSITION_LINES} of {len(naive_lines):,} lines)": "\n".join(
            naive_lines[:EXPOSITION_LINES]
        ),
        "optimized's /metrics (all of it)": generate_latest(ROUTE_TEMPLATE_REGISTRY).decode(),
    }


TECHNIQUE = Technique(
    key="instrumentation",
    area="monitoring",
    title="Request metrics: raw-path BaseHTTPMiddleware vs route-template ASGI middleware",
    summary=(
        "Timing requests for Prometheus costs every request a little and the scraper a "
        "series per label set. The tutorial recipe (a BaseHTTPMiddleware labelling by raw "
        "path) pays a task group per request and adds label sets with every distinct id; "
        "a pure ASGI middleware labelling by route template keeps both small."
    ),
    guide_section="Performance Monitoring / Application Performance Monitoring",
    router=router,
    variants=("naive", "optimized", "uninstrumented"),
    baseline="naive",
    params={"user_id": DEFAULT_USER_ID},
    proof=(
        "throughput against uninstrumented: naive pays a task group per request, optimized "
        "little; series after the run: naive one label set per id requested (18 series "
        "each), optimized one per route and status class"
    ),
    caveats=(
        "Each variant's cost is its throughput against uninstrumented, the floor: compare "
        "their req/s (or speedups: cost = 1 - speedup / uninstrumented's speedup). The series "
        "counts are in Evidence, taken after the run: naive's grows with the distinct ids "
        f"requested (the workload walks {WORKLOAD_USERS:,} ids), optimized's stays the same. "
        "Every variant also passes through the app's own /metrics and cost meter, whose cost "
        "the report's trust section measures. A series costs Prometheus memory as well, which "
        "this suite does not model."
    ),
    scenario="scenarios.instrumentation",
    artifacts_path="/instrumentation/evidence",
)
