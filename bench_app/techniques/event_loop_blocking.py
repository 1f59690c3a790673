"""Event-loop blocking: a blocking call inside `async def` vs the same call offloaded.

Contract: the upstream's record of `item`, fetched with a synchronous HTTP client
(httpx.Client, as a vendor SDK without an async API would use). The cost of the naive
variant is not its own latency but everyone else's: while a blocking call waits inside
`async def`, the event loop runs nothing else, so every other request in the process
waits with it. The workload mixes the heavy requests with bystanders: requests to a
trivial endpoint that only answer `{"ok": true}`. Their latency, and the loop's lag, are
the measure.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio.to_thread
import httpx
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request

from bench_app.technique import Technique
from bench_app.upstream_client import (
    UPSTREAM_ERRORS,
    UpstreamItem,
    item_from,
    make_blocking_upstream_client,
)

router = APIRouter(
    prefix="/event-loop-blocking", tags=["event_loop_blocking"], responses=UPSTREAM_ERRORS
)

DEFAULT_ITEM = 1

ItemId = Annotated[int, Query(ge=1, le=1_000_000, description="The item to look up upstream.")]


def get_blocking_client(request: Request) -> httpx.Client:
    client: httpx.Client = request.app.state.blocking_upstream
    return client


BlockingClientDep = Annotated[httpx.Client, Depends(get_blocking_client)]


def fetch_item_blocking(client: httpx.Client, item: int) -> UpstreamItem:
    """GET the item with the synchronous client: returns when the upstream has answered."""
    try:
        response = client.get(f"/items/{item}")
    except httpx.HTTPError as error:
        raise HTTPException(502, f"upstream unreachable: {type(error).__name__}") from None
    return item_from(response.status_code, response.content)


@router.get("/blocking-in-async", response_model=UpstreamItem)
async def blocking_in_async(client: BlockingClientDep, item: ItemId = DEFAULT_ITEM) -> UpstreamItem:
    """Call the blocking client right inside `async def`: the whole loop waits for the upstream."""
    return fetch_item_blocking(client, item)


@router.get("/offloaded-to-thread", response_model=UpstreamItem)
async def offloaded_to_thread(
    client: BlockingClientDep, item: ItemId = DEFAULT_ITEM
) -> UpstreamItem:
    """Run the blocking call in a worker thread: the loop serves other requests meanwhile."""
    return await anyio.to_thread.run_sync(fetch_item_blocking, client, item)


@router.get("/bystander")
async def bystander() -> dict[str, bool]:
    """The unrelated request: no I/O at all, so its latency is the loop's availability."""
    return {"ok": True}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One synchronous client (thread-safe, pooled) for the app's lifetime, like the async one.
    with make_blocking_upstream_client(app.state.settings) as client:
        app.state.blocking_upstream = client
        yield


TECHNIQUE = Technique(
    key="event_loop_blocking",
    area="concurrency",
    title="Event-loop blocking: a blocking call in async def vs offloaded to a thread",
    summary=(
        "A synchronous call inside `async def` (here a blocking HTTP client; equally a "
        "sync database driver, time.sleep, or CPU-heavy work such as password hashing) "
        "stops the event loop until it returns: no other request in the process makes "
        "progress meanwhile. anyio.to_thread.run_sync runs it in a worker thread (40 at "
        "most, anyio's default) and the loop keeps serving. The workload mixes the heavy "
        "requests with bystander requests to a trivial endpoint (half the load users); the "
        "proof is the bystanders' latency and the event loop's lag, sampled every 10 ms "
        "in the app."
    ),
    guide_section="Async Patterns / Avoiding Event Loop Blocking",
    router=router,
    variants=("blocking_in_async", "offloaded_to_thread"),
    baseline="blocking_in_async",
    scenario="scenarios.bystanders",
    params={"item": DEFAULT_ITEM},
    proof="bystander p99 and event-loop lag p99: ~ the blocking call's duration -> ~ 1 ms",
    caveats=(
        "Threads suit blocking I/O, which releases the GIL while it waits. Pure-Python CPU "
        "work holds the GIL, so a thread only shares the loop's time with it: that needs a "
        "process pool (loop.run_in_executor with a ProcessPoolExecutor), at the price of "
        "pickling arguments and results. Best of all is an async client, where one exists: "
        "no thread at all. The heavy requests' own latency barely moves; the bystanders' "
        "rows in summary.csv (name = bystander) carry the difference."
    ),
    lifespan=lifespan,
)
