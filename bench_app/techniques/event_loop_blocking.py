"""Event-loop blocking: blocking work inside `async def` vs the same work offloaded.

Contract: the upstream's record of `item`, fetched with a synchronous HTTP client
(httpx.Client, as a vendor SDK without an async API would use), with the catalogue names
most like its key (`similar`, ranked in pure Python by difflib: bench_app.catalogue_match).
The request does both kinds of blocking work, and they need different cures:

- blocking I/O (the synchronous call) releases the GIL while it waits, so a worker
  thread (anyio.to_thread.run_sync) takes it off the loop entirely;
- pure-Python CPU work (the ranking) holds the GIL while it runs, so in a thread it only
  takes turns with the loop (every 5 ms, CPython's switch interval), and the loop still
  waits; a process pool runs it beside the loop, on another core.

The cost of the naive variant is not its own latency but everyone else's: while blocking
work runs inside `async def`, the loop runs nothing else, so every other request in the
process waits with it. The workload mixes the heavy requests with bystanders: requests
to a trivial endpoint that only answer `{"ok": true}`. Their latency, and the loop's lag,
are the measure.
"""

import asyncio
import multiprocessing
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from typing import Annotated

import anyio.to_thread
import httpx
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request

from bench_app.catalogue_match import similar_names
from bench_app.headline import Headline
from bench_app.settings import Settings
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


class MatchedItem(UpstreamItem):
    similar: list[str]  # the catalogue names most like the key


def get_blocking_client(request: Request) -> httpx.Client:
    client: httpx.Client = request.app.state.blocking_upstream
    return client


def get_cpu_pool(request: Request) -> ProcessPoolExecutor:
    pool: ProcessPoolExecutor = request.app.state.cpu_pool
    return pool


BlockingClientDep = Annotated[httpx.Client, Depends(get_blocking_client)]
CpuPoolDep = Annotated[ProcessPoolExecutor, Depends(get_cpu_pool)]


def fetch_item_blocking(client: httpx.Client, item: int) -> UpstreamItem:
    """GET the item with the synchronous client: returns when the upstream has answered."""
    try:
        response = client.get(f"/items/{item}")
    except httpx.HTTPError as error:
        raise HTTPException(502, f"upstream unreachable: {type(error).__name__}") from None
    return item_from(response.status_code, response.content)


def fetch_and_match(client: httpx.Client, item: int) -> MatchedItem:
    """The whole work in one synchronous function: blocking I/O, then pure-Python CPU."""
    found = fetch_item_blocking(client, item)
    return MatchedItem(key=found.key, value=found.value, similar=similar_names(found.key))


@router.get("/blocking-in-async", response_model=MatchedItem)
async def blocking_in_async(client: BlockingClientDep, item: ItemId = DEFAULT_ITEM) -> MatchedItem:
    """Do the blocking I/O and the CPU work right inside `async def`: the loop waits for both."""
    return fetch_and_match(client, item)


@router.get("/offloaded-to-thread", response_model=MatchedItem)
async def offloaded_to_thread(
    client: BlockingClientDep, item: ItemId = DEFAULT_ITEM
) -> MatchedItem:
    """Run all of it in a worker thread: the I/O wait leaves the loop free, the CPU work,
    holding the GIL, still takes turns with it."""
    return await anyio.to_thread.run_sync(fetch_and_match, client, item)


@router.get("/cpu-offloaded-to-process", response_model=MatchedItem)
async def cpu_offloaded_to_process(
    client: BlockingClientDep, pool: CpuPoolDep, item: ItemId = DEFAULT_ITEM
) -> MatchedItem:
    """The blocking I/O in a worker thread, the CPU work in the process pool: the loop keeps
    its GIL and its core."""
    found = await anyio.to_thread.run_sync(fetch_item_blocking, client, item)
    similar = await asyncio.get_running_loop().run_in_executor(pool, similar_names, found.key)
    return MatchedItem(key=found.key, value=found.value, similar=similar)


@router.get("/bystander")
async def bystander() -> dict[str, bool]:
    """The unrelated request: no I/O at all, so its latency is the loop's availability."""
    return {"ok": True}


def make_cpu_pool(settings: Settings) -> ProcessPoolExecutor:
    """The pool for pure-Python CPU work: settings.cpu_pool_workers processes, started with
    "spawn" (forking a process that runs an event loop and threads copies their locks in
    whatever state they are in)."""
    spawn = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(settings.cpu_pool_workers, mp_context=spawn)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One synchronous client (thread-safe, pooled) for the app's lifetime, like the async one,
    # and one process pool. Its process starts with the first job (~1 s: the harness's
    # equivalence check, before any load), not with every app start: techniques that get a
    # fresh app per segment would pay it each time.
    pool = make_cpu_pool(app.state.settings)
    try:
        with make_blocking_upstream_client(app.state.settings) as client:
            app.state.blocking_upstream, app.state.cpu_pool = client, pool
            yield
    finally:
        pool.shutdown(cancel_futures=True)


TECHNIQUE = Technique(
    key="event_loop_blocking",
    area="concurrency",
    title="Event-loop blocking: blocking work in async def vs offloaded to a thread or a process",
    summary=(
        "Synchronous work inside `async def` (here a blocking HTTP client call, then a "
        "pure-Python difflib ranking; equally a sync database driver, time.sleep, or a "
        "template render) stops the event loop until it returns: no other request in the "
        "process makes progress meanwhile. anyio.to_thread.run_sync runs it in a worker "
        "thread (40 at most, anyio's default): blocking I/O releases the GIL while it "
        "waits, so that part leaves the loop free, but pure-Python CPU work holds the GIL "
        "and only takes turns with the loop. A process pool (created in the app's "
        "lifespan, one process per core but the loop's: one here) runs the CPU part "
        "beside the loop. The workload mixes the heavy requests with bystander requests "
        "to a trivial endpoint (half the load users); the proof is the bystanders' "
        "latency and the event loop's lag, sampled every 10 ms in the app."
    ),
    guide_section=None,  # the guide has no section on it
    router=router,
    variants=("blocking_in_async", "offloaded_to_thread", "cpu_offloaded_to_process"),
    baseline="blocking_in_async",
    headline=Headline("p50_ms", "bystander"),
    scenario="scenarios.bystanders",
    params={"item": DEFAULT_ITEM},
    proof=(
        "bystander p99 and event-loop lag p99: ~ the blocking work's duration -> lower with "
        "the thread (the I/O wait) -> near an idle loop's with the CPU work in a process"
    ),
    caveats=(
        "A thread helps only blocking work that releases the GIL: I/O, and C code that lets "
        "go of it (hashlib's pbkdf2_hmac, most of numpy). Pure-Python CPU work needs a "
        "process pool, at the price of pickling arguments and results (a few bytes here; "
        "a large object each way can cost more than the work) and of processes that hold "
        "their own memory; with more CPU work than the pool's cores, requests queue for "
        "the pool instead of the loop, which the heavy requests' own latency shows. Best of "
        "all for I/O is an async client, where one exists: no thread at all. The heavy "
        "requests' rows are in summary.csv; the bystanders' (name = bystander) in "
        "request_kinds.csv and the leaderboard's bystander column."
    ),
    lifespan=lifespan,
)
