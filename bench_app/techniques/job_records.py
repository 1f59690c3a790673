"""Job records: finished jobs' records kept in Redis forever vs deleted as each job finishes.

Contract: GET ?first=F&jobs=N hands N jobs to a job queue (saq on Redis) and its worker,
each recording one of the items F, F+1, ..., F+N-1 as a row (its digest beside it). The
request answers once the jobs are done, with the rows as stored, in item order. (N jobs
a request, so that a segment's records stand well above the noise of Redis's own memory;
a real app may enqueue them one request at a time.)

What differs is what the queue keeps afterwards: every job leaves a record in Redis (its
arguments, status, times, result), which a queue keeps as long as it is told to (saq's
`ttl`: 0 forever, N seconds, or below 0 deleted as the job finishes). Kept, the records
pile up in Redis's memory, one per job, for as long as the queue lives.
"""

import uuid
from typing import Annotated, cast

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import Integer, String, Table, select, text
from sqlalchemy.orm import Mapped, mapped_column

from bench_app.concurrency_worker import RECORD_JOB
from bench_app.db import SessionDep, SessionsDep
from bench_app.effects import RowsStored
from bench_app.headline import REDIS_GROWTH, Headline
from bench_app.job_batches import BatchFailed, JobLanes, LanesDep, lanes_lifespan
from bench_app.job_kinds import DIGEST_CHARS, RECORDS_TABLE
from bench_app.models import Base, quoted_name
from bench_app.redis_memory import RedisMemory
from bench_app.responses import REDIS_UNAVAILABLE, ErrorDetail
from bench_app.technique import Technique

router = APIRouter(
    prefix="/job-records",
    tags=["job_records"],
    responses={
        **REDIS_UNAVAILABLE,
        502: {"model": ErrorDetail, "description": "The job failed."},
    },
)

DEFAULT_FIRST, DEFAULT_JOBS = 1, 10
KEPT_FOREVER, DELETED_ON_FINISH = 0, -1  # saq's ttl: 0 keeps a record, below 0 deletes it
SAQ_DEFAULT_TTL_S = 600


class RecordedJob(Base):
    """What a job leaves behind (bench_app.job_kinds.record_item writes it): a row per job,
    keyed by its id, so a job run twice writes once."""

    __tablename__ = RECORDS_TABLE

    job_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    item: Mapped[int] = mapped_column(Integer)
    value: Mapped[str] = mapped_column(String(DIGEST_CHARS))


RECORDED = cast(Table, RecordedJob.__table__)  # declarative gives a Table; typing says FromClause

FirstItem = Annotated[int, Query(ge=1, le=1_000_000, description="The first item to record.")]
JobCount = Annotated[int, Query(ge=1, le=100, description="How many jobs: N, one item each.")]


class Recorded(BaseModel):
    item: int
    value: str


async def record(
    lanes: JobLanes, session: SessionDep, first: int, jobs: int, ttl: int
) -> list[Recorded]:
    """A job per item, their records kept by `ttl`, awaited; the rows they wrote (1 query).
    What the queue kept of them is counted too (job_records_kept in x-cost)."""
    keys = [uuid.uuid4().hex for _ in range(jobs)]
    arguments = [{"job_key": key, "item": first + index} for index, key in enumerate(keys)]
    try:
        await lanes.run(lanes.records, RECORD_JOB, arguments, ttl, keys)
    except BatchFailed as failure:
        raise HTTPException(502, f"the jobs failed: {failure}") from None
    await lanes.count_kept(lanes.records, keys)  # the records it leaves, metered
    query = select(RecordedJob).where(RecordedJob.job_key.in_(keys)).order_by(RecordedJob.item)
    rows = (await session.scalars(query)).all()
    if len(rows) < jobs:
        raise HTTPException(502, "the jobs finished but some wrote no row")
    return [Recorded(item=row.item, value=row.value) for row in rows]


@router.get("/kept-forever", response_model=list[Recorded])
async def kept_forever(
    lanes: LanesDep,
    session: SessionDep,
    first: FirstItem = DEFAULT_FIRST,
    jobs: JobCount = DEFAULT_JOBS,
) -> list[Recorded]:
    """Keep each finished job's record (ttl=0; Bull's default, removeOnComplete false):
    Redis holds one more record per job, for good."""
    return await record(lanes, session, first, jobs, KEPT_FOREVER)


@router.get("/deleted-on-finish", response_model=list[Recorded])
async def deleted_on_finish(
    lanes: LanesDep,
    session: SessionDep,
    first: FirstItem = DEFAULT_FIRST,
    jobs: JobCount = DEFAULT_JOBS,
) -> list[Recorded]:
    """Delete each job's record as it finishes (ttl=-1; Bull's removeOnComplete: true): the
    work's own result is the row; the queue keeps only the jobs still to do."""
    return await record(lanes, session, first, jobs, DELETED_ON_FINISH)


@router.get("/held", response_model=RedisMemory, include_in_schema=False)
async def held(lanes: LanesDep) -> RedisMemory:
    """For the harness: what the queue's job records hold in Redis now (its headline's
    growth is read from this, before and after each segment)."""
    return RedisMemory(used_memory=await lanes.held_bytes(lanes.records), settled=True)


@router.post("/reset")
async def reset(sessions: SessionsDep) -> dict[str, int]:
    """Empty the table. The kept records stay, as they would in production: the run is a
    soak, and deleting thousands of keys between segments would have Redis shrink its key
    table during the next one, which reads as memory given back."""
    async with sessions() as session, session.begin():
        await session.execute(text(f"TRUNCATE {quoted_name(RECORDED)}"))
    return {"reset": 1}


TECHNIQUE = Technique(
    key="job_records",
    area="background work",
    title="Finished jobs' records kept in Redis forever vs deleted as each job finishes",
    summary=(
        "Every job a queue runs leaves a record in Redis: its arguments, status, times and "
        "result. Kept (saq's ttl=0; Bull keeps them unless told removeOnComplete), they pile "
        "up, one per job, in Redis's memory, for as long as the queue lives. Deleted as each "
        "job finishes (ttl=-1; removeOnComplete: true), the queue holds only the jobs still "
        "to do; what a job produced is its own result, stored where it belongs. Measured as "
        "the growth of what the queue's records hold in Redis per 10,000 requests, "
        f"{DEFAULT_JOBS} jobs each."
    ),
    guide_section="Background Job Optimization / Efficient Queue Processing",
    router=router,
    variants=("kept_forever", "deleted_on_finish"),
    baseline="kept_forever",
    headline=Headline(REDIS_GROWTH),
    redis_memory_path="/job-records/held",
    params={"first": DEFAULT_FIRST, "jobs": DEFAULT_JOBS},
    proof=(
        f"job records left in Redis per request (metered): {DEFAULT_JOBS} -> 0; the same "
        f"rows written by the jobs, {DEFAULT_JOBS + 1} Redis commands ({DEFAULT_JOBS} "
        "enqueues, one count of the records kept) and 1 query per request"
    ),
    caveats=(
        "A record gone is a status no one can ask for: a caller that polls a job's state "
        "after it finished needs its record kept for as long as it might ask, a time to "
        f"live (saq's default keeps records {SAQ_DEFAULT_TTL_S} s; Bull's removeOnComplete "
        "takes an age or a count). Such a TTL holds the rate times the TTL, bounded, but over "
        "a segment's seconds it grows as if kept forever, so it is not a variant here. "
        "The run is a soak, as for bounded_cache: kept records pile up from segment to "
        "segment as they would in production (the app deletes them when it stops). What "
        "the queue's records hold (Redis's MEMORY USAGE of each of its job keys, summed) is "
        "read before and after each whole segment (warm-up included) and divided by every "
        "request the segment sent. It leaves out what Redis spends around the keys (its key "
        "table, allocator pages), which the server's used_memory would count, but also "
        "everything else that moves used_memory: other keys expiring, the key table "
        "doubling; read so, the saving was within noise of none in a run of the whole "
        "catalog."
    ),
    lifespan=lanes_lifespan,
    reset_path="/job-records/reset",
    effects=(RowsStored(table=quoted_name(RECORDED), columns=("item", "value"), order_by="item"),),
)
