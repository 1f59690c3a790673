"""The one abstraction: a technique is a router plus a declaration of its variants."""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncConnection

from bench_app.effects import Effect
from bench_app.headline import P50, Headline
from bench_app.settings import Settings
from bench_app.target import Target

AppLifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
DataLoader = Callable[[AsyncConnection, Settings], Awaitable[dict[str, int]]]


@dataclass(frozen=True)
class RequestBody:
    """What a variant is sent when its request is a POST with a body (an upload)."""

    content: bytes
    content_type: str


BodyFactory = Callable[[Mapping[str, Any]], RequestBody]


@dataclass(frozen=True)
class VariantRequest:
    """How to request a variant: a GET of its URL, or a POST of the technique's body."""

    method: str
    url: str
    body: RequestBody | None = None
    caller_headers: Mapping[str, str] = field(default_factory=dict)  # the technique's own

    @property
    def headers(self) -> dict[str, str]:
        body = {} if self.body is None else {"content-type": self.body.content_type}
        return {**body, **self.caller_headers}

    @property
    def content(self) -> bytes | None:
        return None if self.body is None else self.body.content


@dataclass(frozen=True)
class Technique:
    """A performance technique served as paired endpoints with one contract.

    Every variant answers the same parameters with the same body, status, Content-Type and
    declared effects; the harness checks that before it measures and on answers sampled
    under load, and a variant that differs fails the run: a faster wrong answer never
    counts as an optimization.
    A variant's key is its endpoint function's name; its path is the one in the route
    decorator, read from the router, so it is written once.
    """

    key: str
    area: str
    title: str
    summary: str
    # The guide's heading the technique comes from, as bench_app.guide_sections names it;
    # None where the guide has no section on it.
    guide_section: str | None
    router: APIRouter
    variants: Sequence[str]  # endpoint function names, worst to best
    baseline: str
    params: Mapping[str, Any] = field(default_factory=dict)  # default request parameters
    sweep: Mapping[str, list[Any]] = field(default_factory=dict)  # how cost grows with work
    # The sweep's values are sizes the harness makes (an upload's rows), not sizes of the
    # seeded data: a run multiplies them by its profile's data scale, as the data grows.
    sweep_scales: bool = False
    # Where the sweep is better run from other parameters than the defaults (more work per
    # request, another kind of job): named starting points, each the defaults with some
    # changed. The sweep then runs from each, as a series of its own (queue_concurrency's
    # worker concurrency for I/O-bound and for CPU-bound jobs).
    sweep_from: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The parameter counting the units of work one request hands on (queue_concurrency's
    # "jobs"): a sweep's fits then also give that work's rate, units per second.
    work_unit: str | None = None
    proof: str = ""  # the one-line claim the deterministic costs prove
    caveats: str = ""  # where it does not win, what the figures leave out: in the report
    order_insensitive: bool = False
    # What must hold after a variant's request beyond its body (bench_app.effects), checked
    # like the body: keys gone, rows stored, the job done, a 304 on repeat, ...
    effects: Sequence[Effect] = ()
    # Error statuses the contract answers on purpose (declared in the OpenAPI), e.g. 503 when
    # an upstream refuses: the equivalence check compares such answers like bodies, status
    # and all, instead of counting them as a variant that failed.
    contract_errors: tuple[int, ...] = ()
    # Where an error answer only comes under concurrency (an overloaded upstream): the
    # equivalence check also sends each variant this many requests at once, and every
    # answer must be the baseline's body or the one declared error answer all variants give.
    equivalence_burst: int = 0
    # Its win is fewer network round trips to PostgreSQL or Redis: `pairbench run
    # --rtt-sweep` probes it at each distance (pairbench.env.distance).
    round_trips: bool = False
    # Where the workload is more than a GET of the variant's URL:
    scenario: str | None = None  # module with make_user(name, target): its own Locust user
    # The route (its endpoint function's name) a mixed workload's bystanders call beside the
    # variant: steady unrelated traffic, whose latency shows what the variant does to others.
    bystander: str | None = None
    micro: str | None = None  # module with micro_request(client, target): its micro call
    # Variants that take an upload are POSTed this body, made from a point's params; the
    # harness's one-off requests (equivalence, probe) send it, its scenario and micro too.
    request_body: BodyFactory | None = None
    # Headers every request of the variant carries (equivalence, probe, micro, the default
    # closed loop): e.g. the caller a per-user route answers. A scenario sends its own.
    request_headers: Mapping[str, str] = field(default_factory=dict)
    # Optional hooks, for techniques that need more than a router:
    # Where the figures are the app's memory, a segment is not served by the run's shared
    # app (other techniques' allocations would be in it) but by a process of its own:
    fresh_process: bool = False  # a new one per load segment: a peak that is the segment's
    soak_process: bool = False  # one per variant for the whole run: a leak's growth (a soak)
    memory_figures: bool = False  # the report shows the app's memory (fresh_process implies it)
    lifespan: AppLifespan | None = None  # app-lifetime resources: in-process caches, workers
    load_data: DataLoader | None = None  # fills the technique's own tables when data is seeded
    # POSTed before each load segment with the point's params as its query, e.g. to empty a
    # scratch table or to cache the answer those params will ask for
    reset_path: str | None = None
    artifacts_path: str | None = None  # GET -> {name: text} kept in the run, e.g. EXPLAIN plans
    # GET with a point's params -> extra params every variant then gets, e.g. the keyset
    # cursor that a client paging to page P would hold from page P-1.
    params_path: str | None = None
    # GET ?since=&until= (unix times) -> {"jobs": [[requested_at, done_at], ...]}: the work
    # the requests of a segment handed to a worker, and when it was done (background_jobs).
    deferred_work_path: str | None = None
    # GET -> {"used_memory": bytes}: the Redis memory its Redis growth headline counts, read
    # before and after each segment; Redis's whole used_memory (bench_app.redis_memory)
    # unless the technique reads what its own keys hold (job_records: its queue's records).
    redis_memory_path: str = "/redis-memory"
    # The figure it is judged on (bench_app.headline): the leaderboard, the console, the
    # stopping rule and the gate read it; p50 of the variant's own requests unless its
    # point shows elsewhere (other clients' latency, memory, bytes).
    headline: Headline = P50

    def __post_init__(self) -> None:
        if self.fresh_process and self.soak_process:
            raise ValueError(f"{self.key}: fresh_process and soak_process exclude each other")
        if self.equivalence_burst and not self.contract_errors:
            raise ValueError(f"{self.key}: equivalence_burst needs the contract_errors it meets")
        if self.baseline not in self.variants:
            raise ValueError(f"{self.key}: baseline {self.baseline!r} is not one of its variants")
        if self.sweep_from and not self.sweep:
            raise ValueError(f"{self.key}: sweep_from names starting points of no sweep")
        unknown = {name for base in self.sweep_from.values() for name in base} - set(self.params)
        if self.work_unit is not None:
            unknown |= {self.work_unit} - set(self.params)
        if unknown:
            raise ValueError(f"{self.key}: {', '.join(sorted(unknown))} is not one of its params")
        missing = [variant for variant in self.variants if variant not in self.paths]
        if missing:
            raise ValueError(
                f"{self.key}: no route named {', '.join(missing)} in its router "
                "(a variant's key is its endpoint function's name)"
            )
        if self.bystander is not None and self.bystander not in self.route_paths:
            raise ValueError(
                f"{self.key}: no route named {self.bystander} in its router for its bystanders"
            )

    @cached_property
    def route_paths(self) -> Mapping[str, str]:
        """Every route's path, by its name (its endpoint function's name)."""
        return {
            route.name: route.path for route in self.router.routes if isinstance(route, APIRoute)
        }

    @cached_property
    def paths(self) -> Mapping[str, str]:
        """Each variant's path, from the router's route of the same name."""
        routes = self.route_paths
        return {variant: routes[variant] for variant in self.variants if variant in routes}

    def path(self, variant: str) -> str:
        return self.paths[variant]

    def status(self, variant: str) -> int:
        """The status the variant's route declares for its answer (200 unless it says)."""
        for route in self.router.routes:
            if isinstance(route, APIRoute) and route.name == variant and route.status_code:
                return int(route.status_code)
        return 200

    def target(self, variant: str, params: Mapping[str, Any] | None = None) -> Target:
        """`variant`'s route with `params` (the defaults if None)."""
        values = self.params if params is None else params
        try:
            return Target(self.path(variant), dict(values))
        except ValueError as error:
            raise ValueError(f"{self.key}: {error}") from None

    def route_target(self, name: str, params: Mapping[str, Any] | None = None) -> Target:
        """Any route of its router by name (a workload's readers', an expiry's) with `params`."""
        if name not in self.route_paths:
            raise ValueError(f"{self.key}: no route named {name} in its router")
        try:
            return Target(self.route_paths[name], dict(params or {}))
        except ValueError as error:
            raise ValueError(f"{self.key}: {error}") from None

    def bystander_target(self) -> Target:
        """The route its bystanders call (declared as `bystander`), without parameters."""
        if self.bystander is None:
            raise ValueError(f"{self.key} declares no bystander route for its mixed workload")
        return self.route_target(self.bystander)

    def url(self, variant: str, params: Mapping[str, Any] | None = None) -> str:
        """Path and query string for `variant` with `params` (the defaults if None)."""
        return self.target(variant, params).url

    def request(self, variant: str, params: Mapping[str, Any] | None = None) -> VariantRequest:
        """How the harness requests `variant` with `params` (the defaults if None)."""
        target = self.target(variant, params)
        if self.request_body is None:
            return VariantRequest("GET", target.url, caller_headers=self.request_headers)
        body = self.request_body(dict(target.params))
        return VariantRequest("POST", target.url, body, self.request_headers)
