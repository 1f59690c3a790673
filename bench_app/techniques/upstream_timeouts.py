"""Upstream timeouts: waiting as long as the upstream takes vs a deadline and a fallback.

Contract: the upstream's record of `item` with `degraded: false`, or, when the upstream
has not answered within the deadline, `{"key", "value": null, "degraded": true}`: an
answer the caller can act on (show the page without that figure, retry later). The
upstream here stalls for a fixed share of items (the stub's /flaky route). Without a
timeout every request for such an item waits out the stall, and holds a pooled
connection and a worker slot meanwhile; with one it gives up at the deadline.
"""

from typing import Annotated

import aiohttp
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from bench_app.technique import Technique
from bench_app.upstream_client import UPSTREAM_ERRORS, UpstreamDep, fetch_item

router = APIRouter(
    prefix="/upstream-timeouts", tags=["upstream_timeouts"], responses=UPSTREAM_ERRORS
)

DEFAULT_ITEM = 1  # an item the stub answers at once: the equivalence check compares real answers
ROUTE = "/flaky"  # the stub route that stalls a share of items
# Ten times the upstream's usual answer time: a slow answer still arrives, a stall does not.
DEADLINE_S = 0.1
DEADLINE = aiohttp.ClientTimeout(total=DEADLINE_S)  # the whole call: pool wait, connect, answer

ItemId = Annotated[int, Query(ge=1, le=1_000_000, description="The item to look up upstream.")]


class ItemOrFallback(BaseModel):
    key: str
    value: int | None  # None when degraded
    degraded: bool


@router.get("/no-timeout", response_model=ItemOrFallback)
async def no_timeout(upstream: UpstreamDep, item: ItemId = DEFAULT_ITEM) -> ItemOrFallback:
    """Wait for the upstream however long it takes: a stall becomes this request's latency."""
    found = await fetch_item(upstream, item, ROUTE, timeout=aiohttp.ClientTimeout(total=None))
    return ItemOrFallback(key=found.key, value=found.value, degraded=False)


@router.get("/deadline-fallback", response_model=ItemOrFallback)
async def deadline_fallback(upstream: UpstreamDep, item: ItemId = DEFAULT_ITEM) -> ItemOrFallback:
    """Give the whole call DEADLINE_S (pool wait, connect, answer), then answer the fallback."""
    try:
        found = await fetch_item(upstream, item, ROUTE, timeout=DEADLINE)
    except HTTPException:  # the upstream timed out, failed or could not be reached
        return ItemOrFallback(key=str(item), value=None, degraded=True)
    return ItemOrFallback(key=found.key, value=found.value, degraded=False)


TECHNIQUE = Technique(
    key="upstream_timeouts",
    area="outbound",
    title="Upstream timeouts: no timeout vs a deadline with a fallback",
    summary=(
        "An upstream that stalls for some requests (here 5% of items, for a second) makes "
        "every request that waits for it as slow as the stall, and each such request holds "
        "a pooled connection and the client that sent it meanwhile. A deadline on the whole "
        "call (aiohttp's ClientTimeout(total=...); httpx's timeouts bound each phase, not "
        "the sum, so there asyncio.timeout around the call does it) turns a stall into a "
        "fast, explicit fallback answer (`degraded: true`). The "
        "workload walks through items 1, 2, 3, ... so the same share of requests meets a "
        "stalled item in every variant."
    ),
    guide_section="HTTP Client Best Practices / Timeouts",
    router=router,
    variants=("no_timeout", "deadline_fallback"),
    baseline="no_timeout",
    scenario="scenarios.item_walk",
    params={"item": DEFAULT_ITEM},
    proof="p99 ~ the upstream's stall (1 s) -> ~ the deadline (100 ms); 5% answers degraded",
    caveats=(
        "The answers differ for stalled items by design: the deadline trades a late full "
        "answer for a fast degraded one (the equivalence check compares an item that does "
        "not stall). A call cut off at the deadline closes its connection (it cannot be "
        "reused mid-answer), and the pool opens another when it next runs short. In closed "
        "loop the deadline variant's p50 can come out higher: its users are no longer parked "
        "in stalls, so more requests compete for the CPU at once (see its throughput). Pick "
        "the deadline "
        "from the upstream's own latency distribution (well above its p99), and give the "
        "caller something useful to do with the fallback."
    ),
)
