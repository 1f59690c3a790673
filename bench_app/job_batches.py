"""Handing a batch of jobs to the concurrency worker and waiting for all of them: the app's side.

`JobLanes` holds the queues of bench_app.concurrency_worker (one per concurrency setting,
and job_records' one), starts that process on its first batch and stops it with the app.
`run` enqueues a batch on one queue and returns once every job has finished (a
CompletionWatch: no polling), with each job's key and final status; the records it reads
back afterwards (`finished`) hold each job's result and its enqueue and finish times.

The queues' names carry the app process's id, so the workers of several app processes
(uvicorn --workers) or of tests running side by side never take each other's jobs.
"""

import asyncio
import os
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from redis.asyncio import Redis
from redis.exceptions import RedisError
from saq.job import Job
from saq.queue.redis import RedisQueue

from bench_app.concurrency_worker import (
    CONCURRENCY_SETTINGS,
    LANES_PREFIX_VARIABLE,
    READY_LINE,
    lane_name,
    records_lane,
)
from bench_app.job_completion import CompletionWatch
from bench_app.metering import current_cost
from bench_app.redis_metering import MeteredRedis
from bench_app.settings import Settings, environment_of

ATTEMPTS = 1  # saq's `retries` counts attempts: one, so a failed job fails its batch at once
JOB_TIMEOUT_S = 10  # a job running longer is cancelled, and fails (saq: whole seconds)
BATCH_TIMEOUT_S = 60.0  # a batch not done by then is given up: the worker is stuck or gone
START_TIMEOUT_S = 60.0  # the worker's imports, on a busy machine
STOP_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 5.0  # the app's Redis commands: far above any of them, below a hang
SCAN_COUNT = 1000  # keys a SCAN step asks for, and an UNLINK drops at once
COMPLETE = "complete"


class BatchFailed(Exception):
    """A job of the batch failed, or the batch was not done within BATCH_TIMEOUT_S."""


@dataclass(frozen=True)
class FinishedJob:
    """A job of a batch as its record reads once it has finished."""

    key: str
    status: str
    result: Any
    queued_s: float  # unix time it was enqueued
    done_s: float  # unix time it finished


class JobLanes:
    """The concurrency worker's queues, and the worker process, started on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prefix = f"{settings.job_queue}.lanes.{os.getpid()}"
        # Metered: a request's enqueues and reads count as its Redis commands.
        client = MeteredRedis if settings.meter else Redis
        self.redis = client.from_url(settings.redis_url, socket_timeout=SOCKET_TIMEOUT_S)
        names = [lane_name(self.prefix, setting) for setting in CONCURRENCY_SETTINGS]
        names.append(records_lane(self.prefix))
        self.queues = {name: RedisQueue(self.redis, name=name) for name in names}
        self.watch: CompletionWatch | None = None
        self.process: asyncio.subprocess.Process | None = None
        self.starting = asyncio.Lock()

    def lane(self, concurrency: int) -> str:
        return lane_name(self.prefix, concurrency)

    @property
    def records(self) -> str:
        return records_lane(self.prefix)

    @property
    def job_pattern(self) -> str:
        """Every job id of these queues (saq's: "saq:job:<queue>:<key>")."""
        return f"saq:job:{self.prefix}.*"

    def records_of(self, lane: str) -> str:
        """Every job id of one queue."""
        return f"saq:job:{lane}:*"

    async def started(self) -> None:
        """Start the worker process (and the completion watch) unless it is running."""
        async with self.starting:
            if self.process is not None and self.process.returncode is None:
                return
            if self.watch is None:
                watch = CompletionWatch(self.settings.redis_url, self.job_pattern)
                await watch.start()
                self.watch = watch
            for queue in self.queues.values():
                await queue.connect()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench_app.concurrency_worker",
                env={
                    **os.environ,
                    **environment_of(self.settings),
                    LANES_PREFIX_VARIABLE: self.prefix,
                },
                stdout=asyncio.subprocess.PIPE,
                start_new_session=True,  # stopped by the app, not by a Ctrl-C meant for it
            )
            assert self.process.stdout is not None
            try:
                line = await asyncio.wait_for(self.process.stdout.readline(), START_TIMEOUT_S)
            except TimeoutError:
                line = b""
            if READY_LINE not in line.decode(errors="replace"):
                await self._stop_process()
                raise HTTPException(
                    503, f"the job worker did not start within {START_TIMEOUT_S:g} s; retry"
                )

    async def run(
        self,
        lane: str,
        function: str,
        arguments: Sequence[Mapping[str, Any]],
        ttl: int,
        keys: Sequence[str] | None = None,
    ) -> list[str]:
        """Enqueue one job of `function` per arguments on `lane` (records kept `ttl` s: saq's
        ttl, 0 forever, below 0 deleted as the job finishes) and wait for all; their keys
        (`keys`, or new ones).

        BatchFailed if a job failed or the batch outlasted BATCH_TIMEOUT_S."""
        await self.started()
        assert self.watch is not None
        queue = self.queues[lane]
        keys = list(keys or [uuid.uuid4().hex for _ in arguments])
        ids = [queue.job_id(key) for key in keys]
        finished = self.watch.expect(ids)  # before the enqueue: no notice can come first
        try:
            await asyncio.gather(
                *(
                    queue.enqueue(
                        function,
                        key=key,
                        retries=ATTEMPTS,
                        timeout=JOB_TIMEOUT_S,
                        heartbeat=0,
                        ttl=ttl,
                        **dict(kwargs),
                    )
                    for key, kwargs in zip(keys, arguments, strict=True)
                )
            )
            statuses = await asyncio.wait_for(asyncio.gather(*finished), BATCH_TIMEOUT_S)
        except TimeoutError:
            state = await self._state(lane, keys)
            raise BatchFailed(
                f"the batch was not done within {BATCH_TIMEOUT_S:g} s ({state})"
            ) from None
        finally:
            self.watch.forget(ids)
        failed = [status for status in statuses if status != COMPLETE]
        if failed:
            raise BatchFailed(f"{len(failed)} of {len(keys)} jobs ended {failed[0]}")
        return keys

    async def _state(self, lane: str, keys: Sequence[str]) -> str:
        """What a stuck batch's records say, and whether the worker is alive: for its error."""
        jobs: list[Job | None] = await self.queues[lane].jobs(keys)
        statuses = Counter("no record" if job is None else job.status.value for job in jobs)
        process = self.process
        alive = (
            "no worker"
            if process is None
            else f"worker {process.pid} "
            + ("running" if process.returncode is None else f"exited {process.returncode}")
        )
        return ", ".join(f"{count} {status}" for status, count in statuses.items()) + f"; {alive}"

    async def finished(self, lane: str, keys: Sequence[str]) -> list[FinishedJob | None]:
        """The jobs' records (one MGET), None where a record is gone (expired or deleted)."""
        jobs: list[Job | None] = await self.queues[lane].jobs(keys)
        return [None if job is None else finished_job(job) for job in jobs]

    async def count_kept(self, lane: str, keys: Sequence[str]) -> int:
        """How many of these jobs' records the queue kept (one EXISTS), on the request's meter
        as its job_records_kept."""
        kept = int(await self.redis.exists(*(self.queues[lane].job_id(key) for key in keys)))
        cost = current_cost()
        if cost is not None:
            cost.job_records_kept += kept
        return kept

    async def held_bytes(self, lane: str) -> int:
        """What one queue's job records hold in Redis: the sum of MEMORY USAGE over its job
        keys (a SCAN step's keys asked in one pipeline). Not the server's used_memory, which
        other keys' expiry and the key table's growth move by megabytes."""
        return sum(
            [await self._memory_usage(keys) async for keys in self._batches(self.records_of(lane))]
        )

    async def _memory_usage(self, keys: Sequence[bytes]) -> int:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.memory_usage(key)
            sizes = await pipe.execute()
        return sum(int(size) for size in sizes if size is not None)  # None: gone meanwhile

    async def forget_records(self, pattern: str) -> int:
        """Delete every job record whose id matches `pattern` (between segments): how many."""
        return sum([int(await self.redis.unlink(*keys)) async for keys in self._batches(pattern)])

    async def _batches(self, pattern: str) -> AsyncIterator[list[bytes]]:
        """The keys matching `pattern`, in lists of up to a SCAN step's count."""
        found: list[bytes] = []
        async for key in self.redis.scan_iter(match=pattern, count=SCAN_COUNT):
            found.append(key)
            if len(found) == SCAN_COUNT:
                yield found
                found = []
        if found:
            yield found

    async def _stop_process(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()  # the worker finishes the jobs in hand, then exits
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def close(self) -> None:
        """Stop the worker and delete what the queues kept (job_records' records kept
        forever, say): a Redis that outlives the app is left as it was found."""
        await self._stop_process()
        if self.process is None and self.watch is not None:  # it ever ran: there are records
            with suppress(RedisError, OSError):  # Redis may be gone; nothing to clean then
                await self.forget_records(self.job_pattern)
        if self.watch is not None:
            await self.watch.stop()
        await self.redis.aclose()


def finished_job(job: Job) -> FinishedJob:
    return FinishedJob(
        key=job.key,
        status=job.status.value,
        result=job.result,
        queued_s=job.queued / 1000,
        done_s=job.completed / 1000,
    )


def job_arguments(items: Iterable[int]) -> list[dict[str, Any]]:
    return [{"item": item} for item in items]


@asynccontextmanager
async def lanes_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The app's JobLanes, for the techniques that hand jobs to the concurrency worker: the
    first to enter makes them (and closes them, stopping the worker), the others share them."""
    if getattr(app.state, "job_lanes", None) is not None:
        yield
        return
    app.state.job_lanes = lanes = JobLanes(app.state.settings)
    try:
        yield
    finally:
        app.state.job_lanes = None
        await lanes.close()


def get_lanes(request: Request) -> JobLanes:
    lanes: JobLanes = request.app.state.job_lanes
    return lanes


LanesDep = Annotated[JobLanes, Depends(get_lanes)]
