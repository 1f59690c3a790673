"""Request coalescing: every concurrent caller calls the upstream vs in-flight deduplication.

Contract: the upstream's record of `item`, as for http_pooling. When many requests ask
for the same item at the same moment, each naive request makes its own identical call.
Coalescing lets the first one call while the others, arriving while that call is in
flight, await its answer: one upstream call per burst. Nothing is kept afterwards (that
would be a cache): the next burst calls again.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request

from bench_app.effects import ConcurrentCallers
from bench_app.single_flight import SingleFlight
from bench_app.technique import Technique
from bench_app.upstream_client import UPSTREAM_ERRORS, UpstreamDep, UpstreamItem, fetch_item

router = APIRouter(
    prefix="/request-coalescing", tags=["request_coalescing"], responses=UPSTREAM_ERRORS
)

DEFAULT_ITEM = 1

ItemId = Annotated[int, Query(ge=1, le=1_000_000, description="The item to look up upstream.")]


def get_flights(request: Request) -> SingleFlight[UpstreamItem]:
    flights: SingleFlight[UpstreamItem] = request.app.state.coalescing_flights
    return flights


FlightsDep = Annotated[SingleFlight[UpstreamItem], Depends(get_flights)]


@router.get("/every-caller-calls", response_model=UpstreamItem)
async def every_caller_calls(upstream: UpstreamDep, item: ItemId = DEFAULT_ITEM) -> UpstreamItem:
    """Each request makes its own call: K identical upstream calls for a burst of K."""
    return await fetch_item(upstream, item)


@router.get("/coalesced", response_model=UpstreamItem)
async def coalesced(
    upstream: UpstreamDep, flights: FlightsDep, item: ItemId = DEFAULT_ITEM
) -> UpstreamItem:
    """Callers of an item already in flight await that call: 1 upstream call per burst."""
    return await flights.do(str(item), partial(fetch_item, upstream, item))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.coalescing_flights = SingleFlight[UpstreamItem]()
    yield


TECHNIQUE = Technique(
    key="request_coalescing",
    area="outbound",
    title="Request coalescing: every caller calls vs in-flight deduplication",
    summary=(
        "A burst of identical requests (a popular item, a page many clients poll) makes as "
        "many identical upstream calls. With in-flight deduplication (single-flight, keyed "
        "by what is asked), the first request calls and the ones that arrive while its call "
        "is in flight await the same answer; an error reaches them all likewise. The "
        "workload fires bursts: all load users wait for each other and then request the "
        "same item at once, so a burst is K = the number of users."
    ),
    guide_section="HTTP Request Optimization / Connection Pooling and Request Optimization",
    router=router,
    variants=("every_caller_calls", "coalesced"),
    baseline="every_caller_calls",
    scenario="scenarios.bursts",
    params={"item": DEFAULT_ITEM},
    # A flight is shared by callers asking the same; never by callers asking different items.
    effects=(ConcurrentCallers(vary={"item": [1, 2, 3, 4, 5, 6]}),),
    proof="upstream calls per request, in bursts of K identical requests: 1 -> 1/K",
    caveats=(
        "What it saves is the upstream's work (and its rate limits and bill): the caller's "
        "latency gains only when the duplicates slow the upstream down. Here the stub is not "
        "saturated by a burst of 8, so latency barely moves, and the 8 answers of a coalesced "
        "burst arrive at the same instant and are written out one after another, which can "
        "make the burst's latency a little worse (the run's p50 and p95 show by how much). "
        "It only helps requests that overlap: the calls "
        "per request fall to 1/K because the burst arrives within one upstream round trip. "
        "Spread the same requests out "
        "and every one calls again; keeping answers for longer is a cache's job, with its "
        "own staleness to decide. Deduplicate only calls whose answer is the same for every "
        "caller (not per-user data) and that are safe to share (reads)."
    ),
    lifespan=lifespan,
)
