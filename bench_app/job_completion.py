"""Waiting for jobs to finish without polling and without missing one.

saq publishes each change of a job's status on a channel named by the job's id. Its own
waiting (Queue.map) polls every job's record instead, every half second by default, and
its subscriber starts anew with each wait, so a job that finishes in between is missed.
This holds one pattern subscription for all the queues it watches, confirmed before any
job is enqueued, and a future per awaited job, registered before the job is enqueued: a
job cannot finish unseen, and a batch is done the moment its last job is.
"""

import asyncio
import contextvars
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from saq.job import TERMINAL_STATUSES

FINISHED = frozenset(status.value for status in TERMINAL_STATUSES)  # complete, failed, aborted
SUBSCRIBE_TIMEOUT_S = 10.0


class CompletionWatch:
    """Futures resolved with each awaited job's final status, from saq's notices."""

    def __init__(self, redis_url: str, pattern: str) -> None:
        self.redis = Redis.from_url(redis_url)  # not the metered client: no request's cost
        self.pattern = pattern  # e.g. "saq:job:<queue prefix>*"
        self.pubsub: PubSub | None = None
        self.reader: asyncio.Task[None] | None = None
        self.waiting: dict[str, asyncio.Future[str]] = {}

    async def start(self) -> None:
        """Subscribe, and return once Redis has confirmed the subscription."""
        self.pubsub = self.redis.pubsub()
        await self.pubsub.psubscribe(self.pattern)
        confirmed = await self.pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT_S)
        if not confirmed or confirmed["type"] != "psubscribe":
            raise RuntimeError(f"Redis did not confirm the subscription to {self.pattern}")
        # A task of its own context: started inside a request, it must not count its reads
        # as that request's cost.
        self.reader = asyncio.create_task(self._read(), context=contextvars.Context())

    def expect(self, job_ids: Iterable[str]) -> list[asyncio.Future[str]]:
        """A future per job id, resolved with the job's final status."""
        loop = asyncio.get_running_loop()
        futures = []
        for job_id in job_ids:
            self.waiting[job_id] = future = loop.create_future()
            futures.append(future)
        return futures

    def forget(self, job_ids: Iterable[str]) -> None:
        """Stop waiting for these jobs (their batch gave up)."""
        for job_id in job_ids:
            future = self.waiting.pop(job_id, None)
            if future is not None and not future.done():
                future.cancel()

    async def _read(self) -> None:
        assert self.pubsub is not None
        async for message in self.pubsub.listen():
            if message["type"] != "pmessage":
                continue
            status = message["data"].decode()
            if status not in FINISHED:
                continue
            future = self.waiting.pop(message["channel"].decode(), None)
            if future is not None and not future.done():
                future.set_result(status)

    async def stop(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)
        if self.pubsub is not None:
            await self.pubsub.aclose()
        await self.redis.aclose()
        self.forget(list(self.waiting))
