"""Background jobs: slow work done inside the request vs enqueued for a worker (202 Accepted).

Contract: GET ?item=K records what the upstream says about item K, as one row per request
(table background_jobs_recorded, keyed by the job's id), and answers {"item": K} with a
Location header naming the job (GET it for its status). The work is one slow upstream
call (job_queue.SLOW_UPSTREAM_MS) and an insert. Inline, the request waits for it and
answers 201 once the row exists. Enqueued, the request answers 202 as soon as the job is
in the queue (saq on Redis); a separate worker process does the work, retrying a failed
attempt with exponential backoff. The work does not vanish, it moves: the figures that
matter are the request's latency and the job's enqueue-to-done latency, side by side.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Annotated, cast

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel
from redis.exceptions import RedisError
from saq.job import Status
from sqlalchemy import Table, select, text

from bench_app.db import SessionsDep
from bench_app.effects import JobDone
from bench_app.job_queue import (
    ATTEMPTS,
    JOB_FUNCTION,
    RETRY_BACKOFF_MAX_S,
    RETRY_DELAY_S,
    SLOW_UPSTREAM_MS,
    SWEEP_INTERVAL_S,
    JobQueue,
    RecordedItem,
    job_options,
    make_queue,
    record_item,
)
from bench_app.models import quoted_name
from bench_app.responses import REDIS_UNAVAILABLE, not_found
from bench_app.technique import Technique
from bench_app.upstream_client import UPSTREAM_ERRORS, UpstreamDep
from bench_app.worker import CONCURRENCY

router = APIRouter(
    prefix="/background-jobs",
    tags=["background_jobs"],
    responses={
        **UPSTREAM_ERRORS,
        503: {"description": "The job queue (Redis) is unreachable: the job was not accepted."},
    },
)

DEFAULT_ITEM = 1
RECORDED = cast(Table, RecordedItem.__table__)  # declarative gives a Table; typing says FromClause
DRAIN_TIMEOUT_S = 120.0  # a reset waits this long at most for the queue to empty
DRAIN_POLL_S = 0.05
RETRY_AFTER_S = 1
JOB_KEY_PATTERN = "^[0-9a-f]{32}$"  # uuid4().hex

ItemId = Annotated[int, Query(ge=1, le=1_000_000, description="The item to record.")]


class Accepted(BaseModel):
    item: int


class JobState(BaseModel):
    job: str
    status: str  # saq's: queued, active, complete, failed, ...; "complete" once the row exists
    item: int | None = None
    value: int | None = None
    attempts: int | None = None


def get_queue(request: Request) -> JobQueue:
    queue: JobQueue = request.app.state.job_queue
    return queue


QueueDep = Annotated[JobQueue, Depends(get_queue)]


def located(response: Response, job_key: str) -> None:
    response.headers["Location"] = router.url_path_for("job_state", job_key=job_key)


@router.get("/inline", status_code=201, response_model=Accepted)
async def inline(
    response: Response, upstream: UpstreamDep, sessions: SessionsDep, item: ItemId = DEFAULT_ITEM
) -> Accepted:
    """Do the slow work before answering: the request lasts as long as the work."""
    job_key = uuid.uuid4().hex
    await record_item(upstream, sessions, job_key, item, requested_at=time.time())
    located(response, job_key)
    return Accepted(item=item)


@router.get("/enqueued", status_code=202, response_model=Accepted)
async def enqueued(response: Response, queue: QueueDep, item: ItemId = DEFAULT_ITEM) -> Accepted:
    """Enqueue a job and answer 202 at once; a worker does the work, retrying with backoff."""
    job_key = uuid.uuid4().hex
    try:
        await queue.enqueue(
            JOB_FUNCTION,
            job_key=job_key,
            item=item,
            requested_at=time.time(),
            **job_options(job_key),
        )
    except (RedisError, OSError):
        raise HTTPException(
            503,
            "the job queue (Redis) cannot be reached, so the job was not accepted; retry later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    located(response, job_key)
    return Accepted(item=item)


JobKey = Annotated[str, Path(pattern=JOB_KEY_PATTERN, description="The job's id (Location).")]


@router.get(
    "/jobs/{job_key}",
    response_model=JobState,
    responses={**not_found("no job with that id"), **REDIS_UNAVAILABLE},
)
async def job_state(job_key: JobKey, queue: QueueDep, sessions: SessionsDep) -> JobState:
    """Where a job stands: its row once written, else what the queue says."""
    try:  # the queue first: a job it calls complete has written its row by then
        job, queue_down = await queue.job(job_key), False
    except (RedisError, OSError):
        job, queue_down = None, True
    async with sessions() as session:
        row = await session.get(RecordedItem, job_key)
    if row is not None:
        return JobState(
            job=job_key,
            status=Status.COMPLETE.value,
            item=row.item,
            value=row.value,
            attempts=row.attempts,
        )
    if queue_down:
        raise HTTPException(503, "the job queue (Redis) cannot be reached; retry later")
    if job is None:
        raise HTTPException(404, f"no job {job_key!r}")
    return JobState(job=job_key, status=job.status.value, attempts=job.attempts)


async def drain(queue: JobQueue) -> None:
    """Wait until no job is queued, running or waiting to retry (at most DRAIN_TIMEOUT_S);
    at once when no worker is there to run them (an app served without one)."""
    if not (await queue.info()).get("workers"):
        return
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while await queue.count("incomplete") and time.monotonic() < deadline:
        await asyncio.sleep(DRAIN_POLL_S)


class DeferredWork(BaseModel):
    jobs: list[tuple[float, float]]  # (requested_at, done_at), unix times


@router.get("/deferred-work", response_model=DeferredWork, include_in_schema=False)
async def deferred_work(
    queue: QueueDep, sessions: SessionsDep, since: float = 0.0, until: float | None = None
) -> DeferredWork:
    """When each job requested in [since, until] was requested and done (after the queue drains)."""
    await drain(queue)
    query = select(RecordedItem.requested_at, RecordedItem.done_at).where(
        RecordedItem.requested_at >= since, RecordedItem.requested_at <= (until or time.time())
    )
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return DeferredWork(jobs=[(requested, done) for requested, done in rows])


@router.post("/reset", responses=REDIS_UNAVAILABLE)
async def reset(queue: QueueDep, sessions: SessionsDep) -> dict[str, int]:
    """Let the previous segment's jobs finish, then empty the table: segments start alike."""
    await drain(queue)
    async with sessions() as session, session.begin():
        await session.execute(text(f"TRUNCATE {quoted_name(RECORDED)}"))
    return {"reset": 1}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.job_queue = queue = make_queue(app.state.settings)
    await queue.connect()
    try:
        yield
    finally:
        with suppress(RedisError, OSError):  # Redis may be gone; there is nothing to flush
            await queue.disconnect()


TECHNIQUE = Technique(
    key="background_jobs",
    area="background work",
    title="Slow work inline vs a job queue and a worker (202 Accepted)",
    summary=(
        f"A request that does slow work before answering (here a {SLOW_UPSTREAM_MS} ms "
        "upstream call and an insert: a report, a payment, an e-mail API) keeps its caller "
        "waiting for all of it. Enqueued instead (saq on Redis), the request answers 202 "
        "Accepted with the job's URL as soon as the job is stored, and a worker process does "
        f"the work: up to {ATTEMPTS} attempts with exponential backoff and jitter "
        f"({RETRY_DELAY_S:g} s, {2 * RETRY_DELAY_S:g} s, ... capped at {RETRY_BACKOFF_MAX_S:g}"
        f" s), a timeout per attempt, and a sweep every {SWEEP_INTERVAL_S:g} s that hands a "
        "dead worker's jobs to another. The job writes its row under its own id, so a job run "
        "twice writes once. The work does not vanish: the summary shows the request's latency "
        "beside the job's enqueue-to-done latency and the most jobs in progress. Both "
        "variants are offered the same paced load (each user one request at a fixed pace, "
        "scenarios.paced), a rate the worker keeps up with: back-to-back users would measure "
        "the backlog instead."
    ),
    guide_section="Background Job Optimization / Efficient Queue Processing",
    router=router,
    variants=("inline", "enqueued"),
    baseline="inline",
    scenario="scenarios.paced",
    params={"item": DEFAULT_ITEM},
    proof=(
        f"request latency: ~ the work ({SLOW_UPSTREAM_MS} ms upstream + insert) -> ~ an enqueue; "
        "the work itself moves to the worker (enqueue-to-done latency, per segment)"
    ),
    caveats=(
        "The caller gets an acknowledgement, not the result: it must poll the job's URL (or "
        "be told) and cope with the job failing after the 202. Throughput of the work is "
        f"the worker's ({CONCURRENCY} jobs at once), not the app's: offered more, the queue "
        "grows, which the enqueue-to-done latency and the most jobs in progress show (in "
        "the summary, per segment) and the request latency never will. If Redis is down, "
        "the request answers 503 (the job was not accepted) rather than pretending."
    ),
    lifespan=lifespan,
    reset_path="/background-jobs/reset",
    deferred_work_path="/background-jobs/deferred-work",
    effects=(JobDone(fields=("status", "item", "value")),),
)
