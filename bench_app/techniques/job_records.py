"""Job records: finished jobs' records kept in Redis forever vs deleted as each job finishes.

Contract: GET ?item=K hands one job to a job queue (saq on Redis) and its worker: record
item K as a row (its digest beside it). The request answers once the job is done, with the
row as stored. What differs is what the queue keeps afterwards: every job leaves a record
in Redis (its arguments, status, times, result), which a queue keeps as long as it is told
to (saq's `ttl`: 0 forever, N seconds, or below 0 deleted as the job finishes). Kept, the
records pile up in Redis's memory, one per job, for as long as the queue lives.
"""

import uuid
from typing import Annotated, cast

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import Table, select, text

from bench_app.concurrency_worker import RECORD_JOB
from bench_app.db import SessionDep, SessionsDep
from bench_app.effects import RowsStored
from bench_app.headline import REDIS_GROWTH, Headline
from bench_app.job_batches import BatchFailed, JobLanes, LanesDep, lanes_lifespan
from bench_app.job_kinds import RecordedJob
from bench_app.models import quoted_name
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

DEFAULT_ITEM = 1
KEPT_FOREVER, DELETED_ON_FINISH = 0, -1  # saq's ttl: 0 keeps a record, below 0 deletes it
SAQ_DEFAULT_TTL_S = 600
RECORDED = cast(Table, RecordedJob.__table__)  # declarative gives a Table; typing says FromClause

ItemId = Annotated[int, Query(ge=1, le=1_000_000, description="The item to record.")]


class Recorded(BaseModel):
    item: int
    value: str


async def record(lanes: JobLanes, session: SessionDep, item: int, ttl: int) -> Recorded:
    """One job recording `item`, its record kept by `ttl`, awaited; the row it wrote."""
    key = uuid.uuid4().hex
    try:
        await lanes.run(lanes.records, RECORD_JOB, [{"job_key": key, "item": item}], ttl, [key])
    except BatchFailed as failure:
        raise HTTPException(502, f"the job failed: {failure}") from None
    row = (await session.execute(select(RecordedJob).where(RecordedJob.job_key == key))).scalar()
    if row is None:
        raise HTTPException(502, "the job finished but wrote no row")
    return Recorded(item=row.item, value=row.value)


@router.get("/kept-forever", response_model=Recorded)
async def kept_forever(
    lanes: LanesDep, session: SessionDep, item: ItemId = DEFAULT_ITEM
) -> Recorded:
    """Keep each finished job's record (ttl=0; Bull's default, removeOnComplete false):
    Redis holds one more record per job, for good."""
    return await record(lanes, session, item, KEPT_FOREVER)


@router.get("/deleted-on-finish", response_model=Recorded)
async def deleted_on_finish(
    lanes: LanesDep, session: SessionDep, item: ItemId = DEFAULT_ITEM
) -> Recorded:
    """Delete each job's record as it finishes (ttl=-1; Bull's removeOnComplete: true): the
    work's own result is the row; the queue keeps only the jobs still to do."""
    return await record(lanes, session, item, DELETED_ON_FINISH)


@router.post("/reset", responses=REDIS_UNAVAILABLE)
async def reset(lanes: LanesDep, sessions: SessionsDep) -> dict[str, int]:
    """Forget the kept records and empty the table: segments start alike."""
    forgotten = await lanes.forget_records(lanes.records_of(lanes.records))
    async with sessions() as session, session.begin():
        await session.execute(text(f"TRUNCATE {quoted_name(RECORDED)}"))
    return {"reset": forgotten}


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
        "Redis's used_memory growth per 10,000 requests, one job each."
    ),
    guide_section="Background Job Optimization / Efficient Queue Processing",
    router=router,
    variants=("kept_forever", "deleted_on_finish"),
    baseline="kept_forever",
    headline=Headline(REDIS_GROWTH),
    params={"item": DEFAULT_ITEM},
    proof=(
        "job records left in Redis per request: 1 -> 0; the same row written by the job, "
        "1 Redis command and 1 query per request"
    ),
    caveats=(
        "A record gone is a status no one can ask for: a caller that polls a job's state "
        "after it finished needs its record kept for as long as it might ask, a time to "
        f"live (saq's default keeps records {SAQ_DEFAULT_TTL_S} s; Bull's removeOnComplete "
        "takes an age or a count). Such a TTL holds the rate times the TTL, bounded, but over "
        "a segment's seconds it grows as if kept forever, so it is not a variant here. "
        "Redis's growth is read before and after each whole segment (warm-up included) and "
        "divided by every request the segment sent; below 10 bytes a request it counts as "
        "none (Redis's own bookkeeping moves by kilobytes)."
    ),
    lifespan=lanes_lifespan,
    reset_path="/job-records/reset",
    effects=(RowsStored(table=quoted_name(RECORDED), columns=("item", "value"), order_by="item"),),
)
