"""Retries against an overloaded upstream: none vs immediate vs backoff with jitter and a budget.

Contract: the upstream's record of `item`, or, when the upstream would not take the call,
a 503 `{"detail": OVERLOADED}` with a Retry-After: every variant answers one of the two,
the same way. The upstream (the stub's /overloaded route) serves a fixed number of calls
at once and refuses the rest at once with a 503, as a saturated server sheds load: the
more it is asked at once, the more it refuses. What a variant decides is what to do with
a refusal: pass it on, try again at once, or wait a growing, random while, and only while
the app's retries stay a small share of its calls. The upstream counts every call, so
what each strategy costs it (calls per request: the amplification) is its own count.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request

from bench_app.responses import ErrorDetail
from bench_app.retry_budget import RetryBudget, full_jitter_s
from bench_app.technique import Technique
from bench_app.upstream_client import (
    UPSTREAM_ERRORS,
    UpstreamDep,
    UpstreamItem,
    fetch_unless_refused,
)

OVERLOADED = "the upstream is overloaded; retry later"
RETRY_AFTER_S = 1
router = APIRouter(
    prefix="/retries",
    tags=["retries"],
    responses={
        **UPSTREAM_ERRORS,
        503: {"model": ErrorDetail, "description": f"Service Unavailable: {OVERLOADED}."},
    },
)

DEFAULT_ITEM = 1
ROUTE = "/overloaded"  # the stub route that refuses what exceeds its capacity in flight
ATTEMPTS = 4  # the first call and up to three retries, for both retrying variants
BACKOFF_BASE_S = 0.01  # about one upstream answer: the first retry waits up to that
BACKOFF_CAP_S = 0.1
BUDGET_RATIO = 0.2  # retries: at most a fifth of first attempts, over time
BUDGET_RESERVE = 10.0

ItemId = Annotated[int, Query(ge=1, le=1_000_000, description="The item to look up upstream.")]


def overloaded() -> HTTPException:
    """The contract's answer when the upstream would not serve the call."""
    return HTTPException(503, OVERLOADED, headers={"Retry-After": str(RETRY_AFTER_S)})


def get_retry_budget(request: Request) -> RetryBudget:
    budget: RetryBudget = request.app.state.retry_budget
    return budget


RetryBudgetDep = Annotated[RetryBudget, Depends(get_retry_budget)]


@router.get("/no-retry", response_model=UpstreamItem)
async def no_retry(upstream: UpstreamDep, item: ItemId = DEFAULT_ITEM) -> UpstreamItem:
    """Call once; a refusal is the caller's 503: 1 upstream call per request."""
    found = await fetch_unless_refused(upstream, item, ROUTE)
    if found is None:
        raise overloaded()
    return found


@router.get("/immediate-retries", response_model=UpstreamItem)
async def immediate_retries(upstream: UpstreamDep, item: ItemId = DEFAULT_ITEM) -> UpstreamItem:
    """Call again at once after a refusal, up to ATTEMPTS calls: up to ATTEMPTS upstream calls
    per request, sent while the upstream is still as full as when it refused."""
    for _ in range(ATTEMPTS):
        found = await fetch_unless_refused(upstream, item, ROUTE)
        if found is not None:
            return found
    raise overloaded()


@router.get("/backoff-with-budget", response_model=UpstreamItem)
async def backoff_with_budget(
    upstream: UpstreamDep, budget: RetryBudgetDep, item: ItemId = DEFAULT_ITEM
) -> UpstreamItem:
    """After a refusal wait a random while under a doubling cap (full jitter), then retry, up
    to ATTEMPTS calls, and only while the app's retry budget allows: at most 1 + BUDGET_RATIO
    upstream calls per request over time."""
    budget.deposit()
    for attempt in range(1, ATTEMPTS + 1):
        found = await fetch_unless_refused(upstream, item, ROUTE)
        if found is not None:
            return found
        if attempt == ATTEMPTS or not budget.withdraw():
            break
        await asyncio.sleep(full_jitter_s(attempt, BACKOFF_BASE_S, BACKOFF_CAP_S))
    raise overloaded()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.retry_budget = RetryBudget(BUDGET_RATIO, BUDGET_RESERVE)
    yield


TECHNIQUE = Technique(
    key="retries",
    area="outbound",
    title="Retries: none vs immediate vs exponential backoff with jitter and a retry budget",
    summary=(
        "An upstream that refuses calls when it is full (here: more than its capacity in "
        "flight, answered with an immediate 503) fails more the more it is asked. Passing a "
        "refusal on fails the request; retrying at once sends the call back into the same "
        "full upstream, multiplying its load just when it can least take it (a retry "
        "storm). Exponential backoff with full jitter waits a random while under a doubling "
        "cap, so the callers that failed together come back apart, after the upstream has "
        "had time to drain; a retry budget (retries at most a fifth of calls, app-wide) "
        "keeps retries from multiplying the load however much fails."
    ),
    guide_section="Background Job Optimization / Efficient Queue Processing",
    router=router,
    variants=("no_retry", "immediate_retries", "backoff_with_budget"),
    baseline="no_retry",
    params={"item": DEFAULT_ITEM},
    proof=(
        "success rate (1 - error rate) and upstream calls per request, from the upstream's "
        "own counts: 1 -> up to 4 (immediate) -> at most 1.2 over time (budget)"
    ),
    caveats=(
        "The point is the error rate and the upstream's calls per request, not the latency: "
        "a retried request that succeeds is slower than one that did not need to retry, and "
        "a request refused at once is the fastest of all, so p50 speedups here compare the "
        "successful requests only, which are not the same set across variants. A refusal "
        "costs the upstream little here (it answers at once); on a real server each retry "
        "also costs it work, which makes immediate retries worse than shown. Under closed-"
        "loop load the callers wait for their answers, so a variant that backs off also "
        "sends less; real traffic keeps arriving, and there the budget is what bounds the load."
    ),
    lifespan=lifespan,
    contract_errors=(503,),
    equivalence_burst=16,
)
