"""background_jobs: the same rows whether done inline or by the worker; the request only
enqueues; nothing is lost when the worker dies mid-run; a Redis outage is a clear 503."""

import asyncio
import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from saq.job import TERMINAL_STATUSES, Status
from sqlalchemy import select

from bench_app import job_queue
from bench_app.db import make_engine, make_sessionmaker
from bench_app.job_queue import JOB_FUNCTION, RecordedItem, job_options, make_queue
from bench_app.main import create_app
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from pairbench.env.server import app_environment
from pairbench.env.upstream_stub import item_value
from pairbench.env.worker import running_worker, start_worker
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of
from tests.throwaway_redis import throwaway_redis

TECHNIQUE = all_techniques()["background_jobs"]
WAIT_S = 60.0
NOTHING_LOST_JOBS = 40


def worker_environment(settings: Settings) -> dict[str, str]:
    environment = app_environment(
        settings.database_url, settings.redis_url, settings.scale, settings.upstream_url
    )
    return {**environment, "PAIRBENCH_JOB_QUEUE": settings.job_queue}


@pytest.fixture(scope="module")
def worker(seeded: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    with running_worker(worker_environment(seeded), log_path, log=lambda message: None):
        yield


async def wait_for_job(client: httpx.AsyncClient, location: str) -> dict[str, object]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        state = (await client.get(location)).json()
        if state["status"] == "complete":
            return dict(state)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{location} not done within {WAIT_S} s")


@pytest.mark.parametrize("item", [1, 4321])
async def test_both_variants_record_the_same_row(
    client: httpx.AsyncClient, worker: None, item: int
) -> None:
    expected_status = {"inline": 201, "enqueued": 202}
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, {"item": item}))
        assert response.status_code == expected_status[variant], response.text
        assert response.json() == {"item": item}
        state = await wait_for_job(client, response.headers["location"])
        assert (state["item"], state["value"]) == (item, item_value(str(item))), variant


async def test_the_request_only_enqueues_the_work_moves_to_the_worker(
    client: httpx.AsyncClient, worker: None
) -> None:
    inline = await client.get(TECHNIQUE.url("inline"))
    enqueued = await client.get(TECHNIQUE.url("enqueued"))
    assert (costs_of(inline)["upstream_calls"], costs_of(inline)["queries"]) == ("1", "1")
    assert (costs_of(enqueued)["upstream_calls"], costs_of(enqueued)["queries"]) == ("0", "0")
    await wait_for_job(client, enqueued.headers["location"])


async def test_deferred_work_lists_each_jobs_request_and_completion(
    client: httpx.AsyncClient, worker: None
) -> None:
    assert (await client.post("/background-jobs/reset")).status_code == 200
    since = time.time()
    for _ in range(5):
        assert (await client.get(TECHNIQUE.url("enqueued"))).status_code == 202
    found = (await client.get("/background-jobs/deferred-work", params={"since": since})).json()
    assert len(found["jobs"]) == 5
    assert all(since <= requested <= done for requested, done in found["jobs"])


async def test_an_unknown_job_is_a_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/background-jobs/jobs/" + "0" * 32)).status_code == 404
    assert (await client.get("/background-jobs/jobs/no-such-job")).status_code == 422


@pytest.mark.parametrize("bad", ["0", "1000001", "x"])
async def test_bad_item_is_a_422(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "item", bad)


def test_saqs_defaults_are_all_set_deliberately() -> None:
    options = job_options("k")
    assert options["retries"] == job_queue.ATTEMPTS > 1  # saq's default 1 = no retry at all
    assert options["retry_backoff"] and options["retry_delay"] > 0
    assert options["timeout"] > 0 and job_queue.SWEEP_INTERVAL_S < 60


async def recorded(settings: Settings, job_keys: list[str]) -> list[tuple[str, int, int]]:
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            query = select(RecordedItem.job_key, RecordedItem.value, RecordedItem.attempts)
            rows = await session.execute(query.where(RecordedItem.job_key.in_(job_keys)))
            return [(key, value, attempts) for key, value, attempts in rows]
    finally:
        await engine.dispose()


async def test_nothing_is_lost_when_the_worker_is_killed_mid_run(
    seeded: Settings, tmp_path: Path
) -> None:
    """N jobs whose first attempts fail (the stub's /fail-once answers 503 once per key);
    the worker is SIGKILLed once some rows are written; a new worker finishes the rest."""
    settings = seeded.model_copy(update={"job_queue": f"nothing-lost-{uuid.uuid4().hex[:8]}"})
    queue = make_queue(settings)
    await queue.connect()
    first_item = random.randrange(100_000, 900_000)  # keys the stub has not failed yet
    jobs = {uuid.uuid4().hex: first_item + n for n in range(NOTHING_LOST_JOBS)}
    environment, log_path = worker_environment(settings), tmp_path / "worker.log"
    doomed = start_worker(environment, log_path)
    survivor: subprocess.Popen[bytes] | None = None
    try:
        for job_key, item in jobs.items():
            await queue.enqueue(
                JOB_FUNCTION,
                job_key=job_key,
                item=item,
                requested_at=time.time(),
                route="/fail-once",
                **job_options(job_key),
            )
        deadline = time.monotonic() + WAIT_S
        while not await recorded(settings, list(jobs)):
            assert time.monotonic() < deadline, "the first worker wrote nothing"
            await asyncio.sleep(0.02)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
        done_before_kill = len(await recorded(settings, list(jobs)))
        assert done_before_kill < NOTHING_LOST_JOBS, "the kill came mid-run"

        survivor = start_worker(environment, log_path)
        # Done = every job has finished for good: jobs the dead worker was running (some with
        # their row already written) are found by the sweep after their attempt timeout.
        while unfinished := [
            key
            for key in jobs
            if (job := await queue.job(key)) is None or job.status not in TERMINAL_STATUSES
        ]:
            if time.monotonic() > deadline + WAIT_S:
                states = [await queue.job(key) for key in unfinished]
                raise AssertionError(f"unfinished: {[job and job.info(True) for job in states]}")
            await asyncio.sleep(0.1)
        # Delivery is at least once: besides the dead worker's jobs, saq's sweep can re-queue a
        # job a live worker has just taken (it looks "queued" until the worker marks it
        # active), so a job may run twice. The row keyed by the job's id makes that harmless.
        rows = await recorded(settings, list(jobs))
        assert sorted(key for key, _, _ in rows) == sorted(jobs), "each job exactly once"
        assert all(value == item_value(str(jobs[key])) for key, value, _ in rows)
        states = [await queue.job(key) for key in jobs]
        assert all(job is not None and job.status == Status.COMPLETE for job in states)
    finally:
        for process in (doomed, survivor):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)
        await queue.disconnect()


@pytest.fixture
def doomed_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with throwaway_redis(tmp_path) as (url, server):
        yield url, server


@pytest.fixture
async def outage_client(
    seeded: Settings, doomed_redis: tuple[str, subprocess.Popen[bytes]]
) -> AsyncIterator[httpx.AsyncClient]:
    url, _ = doomed_redis
    application = create_app(seeded.model_copy(update={"redis_url": url}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
            yield client


async def test_a_job_submitted_during_a_redis_outage_is_a_clear_503(
    outage_client: httpx.AsyncClient, doomed_redis: tuple[str, subprocess.Popen[bytes]]
) -> None:
    _, server = doomed_redis
    assert (await outage_client.get(TECHNIQUE.url("enqueued"))).status_code == 202
    server.kill()
    server.wait()
    response = await outage_client.get(TECHNIQUE.url("enqueued"))
    assert response.status_code == 503
    assert "job queue" in response.json()["detail"] and response.headers["retry-after"]
    inline = await outage_client.get(TECHNIQUE.url("inline"))
    assert inline.status_code == 201, "work that needs no queue goes on"
