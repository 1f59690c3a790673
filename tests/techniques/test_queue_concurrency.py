"""queue_concurrency: the same results whatever the worker's concurrency; the worker really
runs that many jobs at once and no more; the same Redis commands per request; the batch's
URL reads its jobs' records; the app starts its worker and stops it; bad input is a 422."""

import os
import signal
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from saq.queue.redis import RedisQueue

from bench_app import job_batches
from bench_app.job_batches import JobLanes
from bench_app.job_kinds import hash_chunk
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from pairbench.env.upstream_stub import item_value
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of
from tests.in_process import app_and_client

TECHNIQUE = all_techniques()["queue_concurrency"]
JOBS = 12


@pytest.fixture(scope="module")
async def served(seeded: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app of the module's own (its own queues and worker process), and a client of it."""
    settings = seeded.model_copy(update={"job_queue": f"test-qc-{os.getpid()}"})
    async with app_and_client(settings) as served_app:
        yield served_app


def expected_results(kind: str, first: int, jobs: int) -> list[str]:
    items = range(first, first + jobs)
    if kind == "io":
        return [str(item_value(str(item))) for item in items]
    return [hash_chunk(item) for item in items]


@pytest.mark.parametrize("kind", ["io", "cpu"])
async def test_every_variant_answers_every_jobs_result_in_item_order(
    served: tuple[FastAPI, httpx.AsyncClient], kind: str
) -> None:
    _, client = served
    params = {"kind": kind, "jobs": JOBS, "first": 40, "concurrency": 4}
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, params))
        assert response.status_code == 200, response.text
        assert response.json() == {"kind": kind, "results": expected_results(kind, 40, JOBS)}


async def running_at_once(lanes: JobLanes, lane: str, keys: list[str]) -> int:
    """The most of these jobs that were running at one moment, from their own records."""
    jobs = await RedisQueue(lanes.redis, name=lane).jobs(keys)
    spans = [(job.started, job.completed) for job in jobs if job is not None]
    assert len(spans) == len(keys)
    return max(sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans)


@pytest.mark.parametrize(
    ("variant", "concurrency", "most"),
    [
        ("one_at_a_time", 8, 1),
        ("concurrent", 1, 1),
        ("concurrent", 4, 4),
    ],
)
async def test_the_worker_runs_as_many_jobs_at_once_as_its_setting_and_no_more(
    served: tuple[FastAPI, httpx.AsyncClient], variant: str, concurrency: int, most: int
) -> None:
    app, client = served
    params = {"kind": "io", "jobs": JOBS, "first": 1, "concurrency": concurrency}
    response = await client.get(TECHNIQUE.url(variant, params))
    assert response.status_code == 200, response.text
    batch = response.headers["location"].split("/")[-1].split("?")[0]
    lanes: JobLanes = app.state.job_lanes
    setting = concurrency if variant == "concurrent" else 1
    keys = [f"{batch}-{index}" for index in range(JOBS)]
    found = await running_at_once(lanes, lanes.lane(setting), keys)
    # I/O-bound jobs of 10 ms each, enqueued together: a worker allowed four runs four.
    assert found == most


async def test_the_batchs_url_reads_every_job_complete_with_its_result(
    served: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = served
    params = {"kind": "cpu", "jobs": 5, "first": 7, "concurrency": 2}
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, params))
        state = await client.get(response.headers["location"])
        assert state.status_code == 200, state.text
        assert {key: state.json()[key] for key in ("status", "jobs", "results")} == {
            "status": "complete",
            "jobs": 5,
            "results": expected_results("cpu", 7, 5),
        }
    unknown = "0" * 32
    assert (await client.get(f"/queue-concurrency/batches/{unknown}?jobs=3")).status_code == 404


async def test_each_request_sends_its_enqueues_one_read_and_one_note_to_redis(
    served: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = served
    for variant in TECHNIQUE.variants:
        params = {"kind": "io", "jobs": JOBS, "first": 1, "concurrency": 8}
        await client.get(TECHNIQUE.url(variant, params))  # its queue's enqueue script loaded
        costs = costs_of(await client.get(TECHNIQUE.url(variant, params)))
        assert costs["redis_commands"] == str(JOBS + 2), variant
        assert costs["upstream_calls"] == "0"  # the worker calls the upstream, not the app


async def test_deferred_work_lists_each_jobs_times_and_a_reset_forgets_them(
    served: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = served
    assert (await client.post("/queue-concurrency/reset")).status_code == 200
    response = await client.get(
        TECHNIQUE.url("concurrent", {"kind": "io", "jobs": 6, "first": 1, "concurrency": 2})
    )
    assert response.status_code == 200
    jobs = (await client.get("/queue-concurrency/deferred-work")).json()["jobs"]
    assert len(jobs) == 6 and all(queued <= done for queued, done in jobs)
    forgotten = (await client.post("/queue-concurrency/reset")).json()["reset"]
    assert forgotten >= 6  # the records, kept a minute, are gone
    assert (await client.get("/queue-concurrency/deferred-work")).json()["jobs"] == []
    assert (await client.get(response.headers["location"])).status_code == 404


async def test_the_app_starts_its_worker_on_the_first_batch_and_stops_it_when_it_stops(
    seeded: Settings,
) -> None:
    settings = seeded.model_copy(update={"job_queue": f"test-qc-stop-{os.getpid()}"})
    async with app_and_client(settings) as (app, client):
        lanes: JobLanes = app.state.job_lanes
        assert lanes.process is None  # nothing started until a batch needs it
        response = await client.get(TECHNIQUE.url("one_at_a_time", TECHNIQUE.params))
        assert response.status_code == 200
        process = lanes.process
        assert process is not None and process.returncode is None
    assert process.returncode is not None


@pytest.mark.parametrize(
    ("name", "bad"),
    [("kind", "gpu"), ("jobs", "0"), ("jobs", "65"), ("first", "0"), ("concurrency", "3")],
)
async def test_every_variant_rejects_bad_input(
    served: tuple[FastAPI, httpx.AsyncClient], name: str, bad: str
) -> None:
    _, client = served
    await assert_every_variant_rejects(client, TECHNIQUE, name, bad)


async def test_a_batch_the_worker_does_not_finish_fails_saying_what_its_jobs_records_say(
    served: tuple[FastAPI, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, client = served
    lanes: JobLanes = app.state.job_lanes
    await lanes.started()
    assert lanes.process is not None
    monkeypatch.setattr(job_batches, "BATCH_TIMEOUT_S", 1.0)
    os.kill(lanes.process.pid, signal.SIGSTOP)  # the worker we started: stuck, not gone
    try:
        response = await client.get(
            TECHNIQUE.url("concurrent", {"kind": "io", "jobs": 3, "first": 1, "concurrency": 2})
        )
    finally:
        os.kill(lanes.process.pid, signal.SIGCONT)
    assert response.status_code == 502
    assert response.json()["detail"] == (
        "the batch failed: the batch was not done within 1 s "
        f"(3 queued; worker {lanes.process.pid} running)"
    )
