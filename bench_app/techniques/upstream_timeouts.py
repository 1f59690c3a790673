"""Upstream timeouts: waiting as long as the upstream takes vs a deadline and a fallback.

Contract: the upstream's record of `item` with `degraded: false`, or, when the upstream
has not answered within the deadline, `{"key", "value": null, "degraded": true}`: an
answer the caller can act on (show the page without that figure, retry later). The
upstream here stalls for a fixed share of items (the stub's /flaky route). Without a
timeout every request for such an item waits out the stall, and holds one of the
upstream's pooled connections meanwhile; with one it gives up at the deadline.

The pool is where a stall spreads. This upstream gets a pool of its own, POOL_CONNECTIONS
connections (a bulkhead, sized to its usual load: ~40 calls a second at ~10 ms keep
half a connection busy), so that it can never take the sockets of the app's other upstreams.
Stalled calls that nobody times out fill it, and then every call to this upstream waits
for a connection, including the bystanders': requests to another endpoint that asks the
same upstream for something that never stalls. The workload sends the variant's requests
at a fixed rate (as real traffic keeps arriving whatever the upstream does) beside
steady bystander requests; the bystanders' latency shows who else pays for a stall.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import aiohttp
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel

from bench_app.effects import DegradesTo
from bench_app.headline import Headline
from bench_app.technique import Technique
from bench_app.upstream_client import (
    UPSTREAM_ERRORS,
    UpstreamItem,
    fetch_item,
    make_upstream_client,
)

router = APIRouter(
    prefix="/upstream-timeouts", tags=["upstream_timeouts"], responses=UPSTREAM_ERRORS
)

DEFAULT_ITEM = 1  # an item the stub answers at once: the equivalence check compares real answers
STALLED_ITEM = 20  # an item the stub's /flaky stalls: where the fallback is the answer due
ROUTE = "/flaky"  # the stub route that stalls a share of items
# Ten times the upstream's usual answer time: a slow answer still arrives, a stall does not.
DEADLINE_S = 0.1
DEADLINE = aiohttp.ClientTimeout(total=DEADLINE_S)  # the whole call: pool wait, connect, answer
POOL_CONNECTIONS = 2  # this upstream's own pool: 4x what its usual load keeps busy

ItemId = Annotated[int, Query(ge=1, le=1_000_000, description="The item to look up upstream.")]


class ItemOrFallback(BaseModel):
    key: str
    value: int | None  # None when degraded
    degraded: bool


def get_pooled_upstream(request: Request) -> aiohttp.ClientSession:
    upstream: aiohttp.ClientSession = request.app.state.timeouts_upstream
    return upstream


PooledUpstreamDep = Annotated[aiohttp.ClientSession, Depends(get_pooled_upstream)]


@router.get("/no-timeout", response_model=ItemOrFallback)
async def no_timeout(upstream: PooledUpstreamDep, item: ItemId = DEFAULT_ITEM) -> ItemOrFallback:
    """Wait for the upstream however long it takes: a stall becomes this request's latency,
    and keeps a pooled connection busy all along."""
    found = await fetch_item(upstream, item, ROUTE, timeout=aiohttp.ClientTimeout(total=None))
    return ItemOrFallback(key=found.key, value=found.value, degraded=False)


@router.get("/deadline-fallback", response_model=ItemOrFallback)
async def deadline_fallback(
    upstream: PooledUpstreamDep, item: ItemId = DEFAULT_ITEM
) -> ItemOrFallback:
    """Give the whole call DEADLINE_S (pool wait, connect, answer), then answer the fallback."""
    try:
        found = await fetch_item(upstream, item, ROUTE, timeout=DEADLINE)
    except HTTPException:  # the upstream timed out, failed or could not be reached
        return ItemOrFallback(key=str(item), value=None, degraded=True)
    return ItemOrFallback(key=found.key, value=found.value, degraded=False)


@router.get("/bystander", response_model=UpstreamItem)
async def bystander(upstream: PooledUpstreamDep) -> UpstreamItem:
    """Another endpoint on the same upstream and pool, for a record that never stalls (its
    main route): its latency is how long it waits for a free connection, plus ~10 ms."""
    return await fetch_item(upstream, DEFAULT_ITEM)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.timeouts_upstream = upstream = make_upstream_client(
        app.state.settings, max_connections=POOL_CONNECTIONS
    )
    try:
        yield
    finally:
        await upstream.close()


TECHNIQUE = Technique(
    key="upstream_timeouts",
    area="outbound",
    title="Upstream timeouts: no timeout vs a deadline with a fallback",
    summary=(
        "An upstream that stalls for some requests (here every 20th item, for a second) "
        "makes every request that waits for it as slow as the stall, and each such request holds "
        "a pooled connection meanwhile. A deadline on the whole call (aiohttp's "
        "ClientTimeout(total=...); httpx's timeouts bound each phase, not the sum, so there "
        "asyncio.timeout around the call does it) turns a stall into a fast, explicit "
        "fallback answer (`degraded: true`). The variant's requests arrive at a fixed rate "
        "(10 a second per load user, half the users), walking through items 1, 2, 3, ... so "
        "the same share meets a stalled item in every variant; the other half of the users "
        "are bystanders calling another endpoint that asks the same upstream, through the "
        "same pool of 2 connections, for a record that never stalls."
    ),
    guide_section="HTTP Request Optimization / Connection Pooling and Request Optimization",
    router=router,
    variants=("no_timeout", "deadline_fallback"),
    baseline="no_timeout",
    # A stall holds the pool for a second now and then: the bystanders' tail pays, not their
    # median (half of them never meet a full pool on a quiet machine).
    headline=Headline("p95_ms", "bystander"),
    scenario="scenarios.stalling_upstream",
    bystander="bystander",
    params={"item": DEFAULT_ITEM},
    effects=(
        DegradesTo(
            params={"item": STALLED_ITEM},
            fallback=lambda params: {"key": str(params["item"]), "value": None, "degraded": True},
        ),
    ),
    proof=(
        "p99 ~ the upstream's stall (1 s) or more -> ~ the deadline (100 ms); 5% answers "
        "degraded; bystanders' p95: waiting for a connection stalled calls hold -> ~ 10 ms"
    ),
    caveats=(
        "The answers differ for stalled items by design: the deadline trades a late full "
        "answer for a fast degraded one (the equivalence check compares an item that does "
        "not stall). Without a timeout, stalled calls hold about (arrival rate x 5% x 1 s) "
        "connections: at 40 requests a second that is the whole pool of 2, so calls queue "
        "for connections, faster than they are served, and the backlog grows for as long as "
        "the stall lasts; a bigger pool only moves the rate at which this starts. A call cut "
        "off at the deadline closes its connection (it cannot be reused mid-answer), and the "
        "pool opens another when it next runs short. Pick the deadline from the upstream's "
        "own latency distribution (well above its p99), and give the caller something "
        "useful to do with the fallback."
    ),
    lifespan=lifespan,
)
