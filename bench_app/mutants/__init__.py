"""A switch for the equivalence check's self-test: one technique's variant made subtly wrong.

With PAIRBENCH_MUTANT=technique (or several, comma-separated: each mutant touches only its
own technique's routes), one optimized variant of that technique is served with a
slip a real change makes (an item dropped or a field off by one, a skipped delete or
enqueue, a flight or cache entry shared by different requests, a fallback where none was
due), so tests can prove the harness's equivalence check catches every technique's.
Nothing else sets it; the lessons never see it.
"""

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from bench_app.mutants import slips
from bench_app.mutants.tamper import Endpoint, tampered
from bench_app.techniques import all_techniques


class MutantSwitchError(ValueError):
    """The switch names no technique that has a mutant."""


def replaced_by(endpoint: Endpoint) -> Callable[[Endpoint], Endpoint]:
    return lambda _original: endpoint


# technique -> (the variant that slips, how its endpoint becomes the mutant's)
MUTANTS: dict[str, tuple[str, Callable[[Endpoint], Endpoint]]] = {
    "aggregation": ("group_by", tampered),
    "background_jobs": ("enqueued", replaced_by(slips.enqueued)),
    "batch_get": ("mget", tampered),
    "bounded_cache": ("bounded", tampered),
    "bulk_insert": ("copy", replaced_by(slips.copy)),
    "cache_aside": ("two_level", replaced_by(slips.two_level)),
    "compression": ("gzip_level6", replaced_by(slips.gzip_level6)),
    "conditional_get": ("etag_cached", replaced_by(slips.etag_cached)),
    "csv_import": ("streaming", replaced_by(slips.streaming)),
    "event_loop_blocking": ("offloaded_to_thread", tampered),
    "fan_out": ("bounded_gather", tampered),
    "http_pooling": ("shared_client", tampered),
    "indexing": ("indexed", tampered),
    "instrumentation": ("optimized", tampered),
    "invalidation": ("tag_set", replaced_by(slips.tag_set)),
    "job_records": ("deleted_on_finish", tampered),
    "listener_leak": ("unsubscribed", tampered),
    "n_plus_one": ("joined", tampered),
    "pagination": ("keyset", tampered),
    "pooling": ("pooled", tampered),
    "projection": ("columns", tampered),
    "queue_concurrency": ("concurrent", tampered),
    "request_coalescing": ("coalesced", replaced_by(slips.coalesced)),
    "retries": ("backoff_with_budget", replaced_by(slips.backoff_with_budget)),
    "route_cache": ("decorated_cache", replaced_by(slips.decorated_cache)),
    "serialization": ("orjson_unvalidated", tampered),
    "stampede": ("single_flight", replaced_by(slips.single_flight)),
    "streaming_export": ("streaming", tampered),
    "upstream_timeouts": ("deadline_fallback", replaced_by(slips.deadline_fallback)),
}


def mutated_variant(key: str) -> str:
    """The variant PAIRBENCH_MUTANT=`key` makes wrong (MutantSwitchError if none)."""
    if key not in MUTANTS or key not in all_techniques():
        raise MutantSwitchError(
            f"PAIRBENCH_MUTANT={key!r} must name a technique (see `pairbench list`)"
        )
    return MUTANTS[key][0]


MUTANT_PREFIX = "/_mutant"  # where a mutant's route is served; the switch sends it there


def install_mutants(app: FastAPI, keys: str) -> list[str]:
    """Serve the mutant of each technique in comma-separated `keys` in place of its
    variant (the variant's requests are routed to it); the variants made wrong."""
    mutated: dict[str, str] = {}
    for key in (key.strip() for key in keys.split(",") if key.strip()):
        variant = mutated_variant(key)
        route = next(
            route
            for route in all_techniques()[key].router.routes
            if isinstance(route, APIRoute) and route.name == variant
        )
        app.add_api_route(
            MUTANT_PREFIX + route.path,
            MUTANTS[key][1](route.endpoint),
            methods=list(route.methods or ()),
            name=f"mutant_{variant}",
            response_model=route.response_model,
            status_code=route.status_code,
            dependencies=list(route.dependencies),
            responses=dict(route.responses),
            include_in_schema=False,
        )
        mutated[route.path] = MUTANT_PREFIX + route.path
    app.add_middleware(MutantSwitch, routes=mutated)
    return list(mutated)


class MutantSwitch:
    """Routes a mutated variant's requests to its mutant, path parameters kept."""

    def __init__(self, app: ASGIApp, routes: dict[str, str]) -> None:
        self.app = app
        self.routes = [
            (compile_path(variant)[0], compile_path(mutant)[1])
            for variant, mutant in routes.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for pattern, mutant in self.routes:
                found = pattern.match(scope["path"])
                if found:
                    path = mutant.format(**found.groupdict())
                    scope = {**scope, "path": path, "raw_path": path.encode()}
                    break
        await self.app(scope, receive, send)
