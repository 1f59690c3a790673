"""The prompt worker: a job in hand at stop finishes; the idle loops are ended, not waited on."""

import asyncio
import logging
import secrets
from typing import Any

import pytest
from redis.asyncio import Redis
from saq import Status

from bench_app.concurrency_worker import LaneQueue
from bench_app.prompt_stop import PromptWorker
from pairbench.env.services import ServiceUrls

JOB_S = 0.3  # a job still running when the stop comes
GRACE_S = 5  # far longer than the job: it finishes within the grace


async def slow_job(ctx: dict[str, Any]) -> str:
    await asyncio.sleep(JOB_S)
    return "done"


@pytest.fixture
async def queue(service_urls: ServiceUrls) -> Any:
    redis = Redis.from_url(service_urls.redis_url)
    # Without saq's sweep, which at the worker's start can abort a job it has just taken
    # and not yet marked active (bench_app.concurrency_worker)
    queue = LaneQueue(redis, name=f"prompt-stop-test-{secrets.token_hex(4)}")
    await queue.connect()
    yield queue
    await queue.disconnect()


async def test_a_job_in_hand_finishes_and_the_idle_loops_end_without_waiting_the_grace(
    queue: LaneQueue, caplog: pytest.LogCaptureFixture
) -> None:
    worker = PromptWorker(
        queue, functions=[("slow_job", slow_job)], concurrency=4, shutdown_grace_period_s=GRACE_S
    )
    worker.SIGNALS = []  # the test stops it, not a signal
    running = asyncio.create_task(worker.start())
    job = await queue.enqueue("slow_job")
    assert job is not None
    while not worker._busy:  # taken, and running
        await asyncio.sleep(0.01)

    with caplog.at_level(logging.WARNING, logger="saq"):
        await worker.stop()
    await asyncio.wait_for(running, timeout=GRACE_S)

    await job.refresh()
    assert job.status == Status.COMPLETE and job.result == "done" and job.attempts == 1
    # saq's own stop cancels the idle loops once the grace is over, and says so
    assert "did not finish within the shutdown grace period" not in caplog.text
    assert all(task.done() for task in worker.tasks)
