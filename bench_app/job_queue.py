"""The job queue: saq on Redis, its settings chosen one by one, and the job it runs.

saq (asyncio, redis-py, maintained; arq, the other asyncio Redis queue, is in
maintenance-only mode) has defaults that lose work if left alone: `retries=1` means one
attempt and no retry, no backoff, and a job whose worker died is only found by the sweep,
which runs once a minute. Every one is set here, deliberately. The app enqueues (with a
fail-fast Redis client, so an outage is a quick 503, not a hang); the worker process
(bench_app.worker) runs the jobs.
"""

import time
from typing import Any

import aiohttp
from redis.asyncio import Redis
from saq.job import Status
from saq.queue.redis import RedisQueue
from sqlalchemy import Float, Integer, String
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from bench_app.models import Base
from bench_app.settings import Settings
from bench_app.upstream_client import fetch_item

ATTEMPTS = 5  # saq's `retries` counts attempts, the first included
RETRY_DELAY_S = 1.0  # the first retry waits up to this; each later one up to twice as long
RETRY_BACKOFF_MAX_S = 8.0  # ... capped here (saq adds full jitter: a random share of it)
# How often a worker moves retries that are due back into the queue: saq counts timers in
# whole seconds, so a retry waits for the next tick after its delay.
SCHEDULE_INTERVAL_S = 1
# An attempt running longer is cancelled and retried; and an attempt left "active" this long
# by a worker that died is found by the sweep and retried. A whole number of seconds (saq).
ATTEMPT_TIMEOUT_S = 5
# No heartbeat: the timeout above already bounds an attempt, and a heartbeat would have each
# job touch Redis from inside its own code.
HEARTBEAT_S = 0
SWEEP_INTERVAL_S = 1  # how often a worker looks for stuck jobs (saq: 60)
SWEPT = "swept: its worker died or it overran its timeout"
RESULT_TTL_S = 600  # finished jobs' records are kept this long
SLOW_UPSTREAM_MS = 100  # the work: one slow upstream call (a report, a payment, an e-mail API)
ENQUEUE_SOCKET_TIMEOUT_S = 1.0
ENQUEUE_CONNECT_TIMEOUT_S = 0.5
JOB_FUNCTION = "record_item"


class RecordedItem(Base):
    """What a job leaves behind: one row per job, keyed by its id, so a rerun changes nothing."""

    __tablename__ = "background_jobs_recorded"

    job_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    item: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[float] = mapped_column(Float)  # unix time the request arrived
    done_at: Mapped[float] = mapped_column(Float)  # unix time the row was written


# The sweep's read, as saq's: once per `lock` seconds across workers, every job id in the
# active list with its record.
ACTIVE_JOBS_SCRIPT = """
local id_jobs = {}
if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('SETEX', KEYS[1], ARGV[1], 1)
    for i, v in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
        id_jobs[i] = {v, redis.call('GET', v)}
    end
end
return id_jobs
"""


class JobQueue(RedisQueue):
    """saq's Redis queue with a sweep that cannot lose a job.

    saq's own sweep first aborts a stuck job (marks it aborting and takes it off every
    list), waits up to 5 s for a worker to give it up, then re-queues it. A worker killed
    in between (the sweeping one: saq's sweep also catches jobs a live worker has just
    taken and not yet marked active) leaves the job aborting and on no list, so nothing
    ever runs it again; the nothing-lost test found such jobs. This sweep re-queues in one
    atomic step (saq's retry: off the active list, onto the queue). A job that was in
    fact still running may then run twice, which the job's idempotent write makes
    harmless; a running attempt is bounded by its own timeout anyway, which the worker
    enforces itself.
    """

    async def sweep(self, lock: int = 60, abort: float = 0.0) -> list[str]:
        id_jobs = await self.redis.eval(ACTIVE_JOBS_SCRIPT, 2, self._sweep, self._active, lock)
        swept = []
        for job_id, payload in id_jobs:
            job = self.deserialize(payload)
            if job is None:  # its record expired: only the id is left to drop, as saq does
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.lrem(self._active, 0, job_id)
                    pipe.zrem(self._incomplete, job_id)
                    await pipe.execute()
            elif job.status != Status.ACTIVE or job.stuck:
                if job.retryable:
                    await self.retry(job, error=SWEPT)
                else:
                    await self.finish(job, Status.ABORTED, error=SWEPT)
            else:
                continue
            swept.append(job_id.decode())
        return swept


def make_queue(settings: Settings, *, for_worker: bool = False) -> JobQueue:
    """The queue; the app's client fails fast, the worker's blocks on its dequeue."""
    if for_worker:
        redis = Redis.from_url(settings.redis_url)
    else:
        redis = Redis.from_url(
            settings.redis_url,
            socket_timeout=ENQUEUE_SOCKET_TIMEOUT_S,
            socket_connect_timeout=ENQUEUE_CONNECT_TIMEOUT_S,
        )
    return JobQueue(redis, name=settings.job_queue)


def job_options(job_key: str) -> dict[str, Any]:
    """saq's Job fields for one of our jobs: every default that matters, set."""
    return {
        "key": job_key,
        "retries": ATTEMPTS,
        "retry_delay": RETRY_DELAY_S,
        "retry_backoff": RETRY_BACKOFF_MAX_S,
        "timeout": ATTEMPT_TIMEOUT_S,
        "heartbeat": HEARTBEAT_S,
        "ttl": RESULT_TTL_S,
    }


async def record_item(
    upstream: aiohttp.ClientSession,
    sessions: async_sessionmaker[AsyncSession],
    job_key: str,
    item: int,
    requested_at: float,
    attempt: int = 1,
    route: str = "",
) -> None:
    """The work: ask the upstream (slowly) about `item`, then write the row, once per job key.

    Idempotent: a retry of a job whose row is already written (its worker died after the
    commit, before saq heard it had finished) inserts nothing.
    """
    found = await fetch_item(upstream, item, route, params={"latency_ms": str(SLOW_UPSTREAM_MS)})
    statement = insert(RecordedItem).values(
        job_key=job_key,
        item=item,
        value=found.value,
        attempts=attempt,
        requested_at=requested_at,
        done_at=time.time(),
    )
    async with sessions() as session, session.begin():
        await session.execute(statement.on_conflict_do_nothing(index_elements=["job_key"]))
