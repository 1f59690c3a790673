"""The worker whose concurrency is swept: `python -m bench_app.concurrency_worker`.

A saq worker's concurrency is fixed when it starts, so this process runs one worker per
setting (CONCURRENCY_SETTINGS), each on a queue of its own, plus one for job_records: a
job is run at a setting by putting it on that setting's queue. Only one queue is busy at
a time (the harness measures one point, one variant at a time), so each setting has the
process to itself when it is measured.

The app starts this process itself, on its first batch (bench_app.job_batches), and stops
it with SIGTERM when it shuts down; its settings come from the environment, as the app's
do, and its queues' names from LANES_PREFIX_VARIABLE. saq's defaults, and what is done
with them: a job's `retries` counts attempts (the app enqueues with 1: one attempt); no
heartbeat (a job's own timeout bounds it, enforced by the worker); and saq's sweep, which
every SWEEP_INTERVAL_S would hand a dead worker's jobs back to the queue, is off. There is
no other worker to take them (the app's batch fails at its timeout, and its next batch
starts a new worker), and saq's sweep also catches a job a live worker has just taken and
not yet marked active: it aborted the first job of the first batch in every test run.
"""

import asyncio
import os
import signal
from typing import Any

import aiohttp
import asyncpg
from redis.asyncio import Redis
from saq.queue.redis import RedisQueue
from saq.types import TimersDict

from bench_app import job_kinds
from bench_app.parent_watch import exit_with_parent
from bench_app.prompt_stop import PromptWorker
from bench_app.settings import Settings, get_settings

CONCURRENCY_SETTINGS = (1, 2, 4, 8, 16, 32)  # jobs each worker runs at once
RECORDS_CONCURRENCY = 8  # job_records' worker
LANES_PREFIX_VARIABLE = "PAIRBENCH_LANES_PREFIX"
READY_LINE = "pairbench concurrency worker ready"
IO_JOB, CPU_JOB, RECORD_JOB = "io_job", "cpu_job", "record_job"
SWEEP_INTERVAL_S = 60  # saq's default; the sweep itself is off (LaneQueue)
SHUTDOWN_GRACE_S = 1  # on SIGTERM, the jobs in hand get this long to finish


def lane_name(prefix: str, concurrency: int) -> str:
    """The queue served at `concurrency` jobs at once."""
    return f"{prefix}.c{concurrency}"


def records_lane(prefix: str) -> str:
    return f"{prefix}.records"


class LaneQueue(RedisQueue):
    """saq's Redis queue without its sweep (see the module's docstring)."""

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        return []


class LaneWorker(PromptWorker):
    """A saq worker that leaves SIGTERM to the process: saq's own handler would be replaced
    by each next worker's, and only the last would stop."""

    SIGNALS: list[signal.Signals] = []


def make_workers(
    prefix: str, redis: Redis, upstream: aiohttp.ClientSession, database: asyncpg.Pool, schema: str
) -> list[LaneWorker]:
    """One worker per setting, and job_records' one, each on its own queue."""

    async def io_job(ctx: dict[str, Any], *, item: int) -> str:
        return await job_kinds.wait_on_upstream(upstream, item)

    def cpu_job(ctx: dict[str, Any], *, item: int) -> str:
        # Not async: saq runs it in its worker's thread pool, so hashing leaves the loop free.
        return job_kinds.hash_chunk(item)

    async def record_job(ctx: dict[str, Any], *, job_key: str, item: int) -> None:
        await job_kinds.record_item(database, schema, job_key, item)

    timers = TimersDict(schedule=1, sweep=SWEEP_INTERVAL_S, abort=1, worker_info=10)
    lanes = [(lane_name(prefix, setting), setting) for setting in CONCURRENCY_SETTINGS]
    lanes.append((records_lane(prefix), RECORDS_CONCURRENCY))
    return [
        LaneWorker(
            LaneQueue(redis, name=name),
            functions=[(IO_JOB, io_job), (CPU_JOB, cpu_job), (RECORD_JOB, record_job)],
            concurrency=concurrency,
            timers=timers,
            shutdown_grace_period_s=SHUTDOWN_GRACE_S,
        )
        for name, concurrency in lanes
    ]


async def serve(settings: Settings, prefix: str) -> None:
    """Run every lane's worker until SIGTERM or SIGINT."""
    redis = Redis.from_url(settings.redis_url)
    # Its pool holds every job of the largest setting in flight at once.
    connector = aiohttp.TCPConnector(limit=settings.upstream_max_connections)
    upstream = aiohttp.ClientSession(settings.upstream_url, connector=connector)
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    database = await asyncpg.create_pool(dsn, min_size=0, max_size=RECORDS_CONCURRENCY)
    workers = make_workers(prefix, redis, upstream, database, settings.db_schema)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    for worker in workers:
        await worker.queue.connect()
    running = [asyncio.create_task(worker.start()) for worker in workers]
    # A job enqueued before a worker's first dequeue waits on its list: ready already.
    print(READY_LINE, flush=True)
    await stop.wait()
    await asyncio.gather(*(worker.stop() for worker in workers), return_exceptions=True)
    await asyncio.gather(*running, return_exceptions=True)
    await upstream.close()
    await database.close()
    await redis.aclose()


def main() -> None:
    exit_with_parent()
    asyncio.run(serve(get_settings(), os.environ[LANES_PREFIX_VARIABLE]))


if __name__ == "__main__":
    main()
