"""Queue concurrency: a worker that runs one job at a time vs one that runs several at once.

Contract: GET ?kind=&jobs=N&first=F&concurrency=C hands N jobs of one kind, for the items
F, F+1, ..., F+N-1, to a job queue (saq on Redis) served by a worker process, and answers
once every job is done: the kind and each job's result, in item order, with a Location
naming the batch (GET it to read the jobs' own records). An I/O-bound job (kind=io) asks
the upstream about its item and waits for the answer; a CPU-bound one (kind=cpu) hashes
1 MiB. `concurrency` is the setting of the concurrent variant's worker; the other's is 1.

The request's latency is the batch's time from enqueue to done, and N over it its jobs
per second. How many jobs a worker runs at once is its concurrency, and the right setting
depends on the job: I/O-bound jobs mostly wait, so more at once means more done, until the
worker's own work per job (its Redis round trips, the HTTP call) fills its core;
CPU-bound jobs share the machine's cores, so past their number more at once only makes
each job take longer. The sweep finds where each curve stops rising on this machine.
"""

import time
import uuid
from enum import IntEnum
from typing import Annotated, Literal, cast

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import BaseModel

from bench_app.concurrency_worker import CONCURRENCY_SETTINGS, CPU_JOB, IO_JOB
from bench_app.effects import JobDone
from bench_app.job_batches import (
    BatchFailed,
    FinishedJob,
    JobLanes,
    LanesDep,
    job_arguments,
    lanes_lifespan,
)
from bench_app.job_kinds import CPU_BOUND, HASHED_BYTES, IO_BOUND, IO_LATENCY_MS
from bench_app.responses import REDIS_UNAVAILABLE, ErrorDetail, not_found
from bench_app.technique import Technique

router = APIRouter(
    prefix="/queue-concurrency",
    tags=["queue_concurrency"],
    responses={
        **REDIS_UNAVAILABLE,
        502: {"model": ErrorDetail, "description": "A job failed (its upstream call, say)."},
    },
)

DEFAULT_KIND: Literal["io", "cpu"] = "io"
# 8 closed-loop users x 4 jobs keep 32 jobs in flight under load; one request at a time
# (the sweep) hands on 32, so that every setting up to 32 has jobs enough to run at once.
DEFAULT_JOBS, SWEPT_JOBS = 4, 32
DEFAULT_FIRST = 1
DEFAULT_CONCURRENCY = 8
RESULT_TTL_S = 60  # finished jobs' records are kept this long: the batch's URL reads them
BATCH_KEY_PATTERN = "^[0-9a-f]{32}$"  # uuid4().hex
TIMELINE_KEY = "pairbench:queue-concurrency:done"  # each job's (enqueued, done): under load
JOB_FUNCTIONS = {IO_BOUND: IO_JOB, CPU_BOUND: CPU_JOB}


class Concurrency(IntEnum):
    """The settings a worker runs at: one worker per setting (bench_app.concurrency_worker)."""

    ONE, TWO, FOUR, EIGHT, SIXTEEN, THIRTY_TWO = CONCURRENCY_SETTINGS


DEFAULT_SETTING = Concurrency(DEFAULT_CONCURRENCY)

Kind = Annotated[
    Literal["io", "cpu"],
    Query(description="io: each job waits on an upstream call; cpu: each job hashes 1 MiB."),
]
JobCount = Annotated[int, Query(ge=1, le=64, description="How many jobs to hand on: N.")]
FirstItem = Annotated[int, Query(ge=1, le=1_000_000, description="The first job's item.")]
ConcurrencySetting = Annotated[
    Concurrency, Query(description="How many jobs the concurrent variant's worker runs at once.")
]


class Batch(BaseModel):
    kind: str
    results: list[str]  # each job's result, in item order


def batch_keys(batch: str, jobs: int) -> list[str]:
    """The jobs' keys: the batch's, numbered, so its URL finds every job's record."""
    return [f"{batch}-{index}" for index in range(jobs)]


async def run_batch(
    lanes: JobLanes, response: Response, kind: str, jobs: int, first: int, concurrency: int
) -> Batch:
    """The jobs enqueued on the queue of the worker that runs `concurrency` at once, awaited;
    their results, read back from their records with their times (one MGET)."""
    lane, batch = lanes.lane(concurrency), uuid.uuid4().hex
    keys = batch_keys(batch, jobs)
    items = range(first, first + jobs)
    try:
        await lanes.run(lane, JOB_FUNCTIONS[kind], job_arguments(items), RESULT_TTL_S, keys)
    except BatchFailed as failure:
        raise HTTPException(502, f"the batch failed: {failure}") from None
    done = [job for job in await lanes.finished(lane, keys) if job is not None]
    if len(done) < jobs:  # read a minute after they finished: a worker far behind
        raise HTTPException(502, "the batch's jobs finished, but their records are gone")
    await note_done(lanes, done)
    response.headers["Location"] = (
        router.url_path_for("batch_state", batch=batch) + f"?concurrency={concurrency}&jobs={jobs}"
    )
    return Batch(kind=kind, results=[str(job.result) for job in done])


async def note_done(lanes: JobLanes, jobs: list[FinishedJob]) -> None:
    """Each job's enqueue and finish times, for the harness (deferred_work): one ZADD."""
    members = {f"{job.queued_s:.6f}:{job.done_s:.6f}:{job.key}": job.queued_s for job in jobs}
    await lanes.redis.zadd(TIMELINE_KEY, members)


@router.get("/one-at-a-time", response_model=Batch)
async def one_at_a_time(
    lanes: LanesDep,
    response: Response,
    kind: Kind = DEFAULT_KIND,
    jobs: JobCount = DEFAULT_JOBS,
    first: FirstItem = DEFAULT_FIRST,
    concurrency: ConcurrencySetting = DEFAULT_SETTING,
) -> Batch:
    """Hand the jobs to a worker that runs one at a time (concurrency 1: Bull's default, a
    solo worker): the batch lasts as long as all its jobs one after another."""
    return await run_batch(lanes, response, kind, jobs, first, concurrency=1)


@router.get("/concurrent", response_model=Batch)
async def concurrent(
    lanes: LanesDep,
    response: Response,
    kind: Kind = DEFAULT_KIND,
    jobs: JobCount = DEFAULT_JOBS,
    first: FirstItem = DEFAULT_FIRST,
    concurrency: ConcurrencySetting = DEFAULT_SETTING,
) -> Batch:
    """Hand the jobs to a worker that runs up to `concurrency` at once: I/O-bound jobs wait
    together, CPU-bound ones share the cores."""
    return await run_batch(lanes, response, kind, jobs, first, int(concurrency))


class BatchState(BaseModel):
    batch: str
    status: str  # "complete" once every job's record says so, else the first other status
    jobs: int
    results: list[str]


BatchKey = Annotated[str, Path(pattern=BATCH_KEY_PATTERN, description="The batch (Location).")]


@router.get("/batches/{batch}", response_model=BatchState, responses=not_found("no such batch"))
async def batch_state(
    batch: BatchKey,
    lanes: LanesDep,
    jobs: JobCount = DEFAULT_JOBS,
    concurrency: ConcurrencySetting = DEFAULT_SETTING,
) -> BatchState:
    """A batch as its jobs' records tell it (kept RESULT_TTL_S after each job finished)."""
    found = await lanes.finished(lanes.lane(int(concurrency)), batch_keys(batch, jobs))
    records = [job for job in found if job is not None]
    if not records:
        raise HTTPException(404, f"no job of batch {batch!r} at concurrency {int(concurrency)}")
    unfinished = [job.status for job in records if job.status != "complete"]
    missing = ["missing"] if len(records) < jobs else []
    return BatchState(
        batch=batch,
        status=(unfinished + missing + ["complete"])[0],
        jobs=len(records),
        results=[str(job.result) for job in records],
    )


class DeferredWork(BaseModel):
    jobs: list[tuple[float, float]]  # (enqueued, done), unix times


@router.get("/deferred-work", response_model=DeferredWork, include_in_schema=False)
async def deferred_work(
    lanes: LanesDep, since: float = 0.0, until: float | None = None
) -> DeferredWork:
    """When each job enqueued in [since, until] was enqueued and done (every batch waits
    for its jobs, so all are done once the requests have answered)."""
    members = await lanes.redis.zrangebyscore(TIMELINE_KEY, since, until or time.time())
    pairs = [str(member, "ascii").split(":")[:2] for member in cast(list[bytes], members)]
    return DeferredWork(jobs=[(float(queued), float(done)) for queued, done in pairs])


@router.post("/reset", responses=REDIS_UNAVAILABLE)
async def reset(lanes: LanesDep) -> dict[str, int]:
    """Forget the jobs' records and times: each segment starts with an empty Redis."""
    await lanes.redis.delete(TIMELINE_KEY)
    lanes_of_settings = [lanes.lane(setting) for setting in CONCURRENCY_SETTINGS]
    forgotten = [await lanes.forget_records(lanes.records_of(lane)) for lane in lanes_of_settings]
    return {"reset": sum(forgotten)}


TECHNIQUE = Technique(
    key="queue_concurrency",
    area="background work",
    title="Job worker concurrency: one job at a time vs several, for I/O- and CPU-bound jobs",
    summary=(
        "A worker that runs one job at a time (Bull's default concurrency, a solo worker) "
        "takes the sum of its jobs' times. Running several at once (saq's `concurrency`) "
        f"overlaps I/O-bound jobs' waits (here a {IO_LATENCY_MS} ms upstream call), up to "
        "where the worker's own work per job fills its core; CPU-bound jobs (here hashing "
        f"{HASHED_BYTES >> 20} MiB, which hashlib does without the GIL, in saq's thread pool) "
        "share the cores, so past their number more at once only makes each take longer. "
        "The sweep runs each kind at concurrency 1 to 32, one batch of "
        f"{SWEPT_JOBS} jobs at a time, and finds where jobs per second stop rising."
    ),
    guide_section="Background Job Optimization / Efficient Queue Processing",
    router=router,
    variants=("one_at_a_time", "concurrent"),
    baseline="one_at_a_time",
    params={
        "kind": DEFAULT_KIND,
        "jobs": DEFAULT_JOBS,
        "first": DEFAULT_FIRST,
        "concurrency": DEFAULT_CONCURRENCY,
    },
    sweep={"concurrency": list(CONCURRENCY_SETTINGS)},
    sweep_from={
        "I/O-bound jobs": {"kind": IO_BOUND, "jobs": SWEPT_JOBS},
        "CPU-bound jobs": {"kind": CPU_BOUND, "jobs": SWEPT_JOBS},
    },
    work_unit="jobs",
    proof=(
        "the same jobs, results and Redis commands per request (N enqueues, one read of their "
        "records, one note of their times); jobs per second against concurrency: I/O-bound "
        "rising until the worker's core is full, CPU-bound until the cores are"
    ),
    caveats=(
        "The worker is one process (saq, asyncio) started by the app, with a worker per "
        "setting, each on a queue of its own; CPU-bound jobs run in saq's thread pool, "
        "which holds min(32, cores + 4) threads, so past that a higher setting only queues "
        "inside the worker. Pure-Python work would hold the GIL and gain nothing from "
        "threads: it needs processes. one_at_a_time ignores the setting, so its curve across "
        "the sweep is the sweep's own noise: flat on a quiet machine, and a knee it seems to "
        "have is the machine's. Each request waits for its batch, which is how the "
        "sweep times it (one request at a time, enqueue to done); under load the jobs' own "
        "enqueue-to-done latency per segment is in the summary. The knee depends on this "
        "machine's cores and on everything else running on them; the app, Redis, the "
        "upstream stub and the load generator share them here."
    ),
    lifespan=lanes_lifespan,
    reset_path="/queue-concurrency/reset",
    deferred_work_path="/queue-concurrency/deferred-work",
    effects=(JobDone(fields=("status", "jobs", "results")),),
)
