"""job_records: the same row whether the queue keeps its records or not; kept ones stay in
Redis (and grow its memory), deleted ones are gone once the request answers; the same
costs; a reset forgets them; bad input is a 422."""

import os
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from bench_app.job_batches import JobLanes
from bench_app.job_kinds import hash_item
from bench_app.main import create_app
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of
from tests.in_process import app_and_client

TECHNIQUE = all_techniques()["job_records"]


@pytest.fixture(scope="module")
async def served(seeded: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = seeded.model_copy(update={"job_queue": f"test-jr-{os.getpid()}"})
    async with app_and_client(settings) as served_app:
        yield served_app


async def kept_records(app: FastAPI) -> int:
    lanes: JobLanes = app.state.job_lanes
    return len([key async for key in lanes.redis.scan_iter(match=lanes.records_of(lanes.records))])


async def test_every_variant_answers_the_rows_its_jobs_wrote(
    served: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = served
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, {"first": 42, "jobs": 3}))
        assert response.status_code == 200, response.text
        assert response.json() == [
            {"item": item, "value": hash_item(item)} for item in (42, 43, 44)
        ]


@pytest.mark.parametrize(("variant", "left"), [("kept_forever", 1), ("deleted_on_finish", 0)])
async def test_a_kept_record_stays_in_redis_and_a_deleted_one_is_gone(
    served: tuple[FastAPI, httpx.AsyncClient], variant: str, left: int
) -> None:
    app, client = served
    before = await kept_records(app)
    response = await client.get(TECHNIQUE.url(variant, {"first": 1, "jobs": 5}))
    assert response.status_code == 200
    assert await kept_records(app) - before == 5 * left


async def test_a_kept_record_holds_hundreds_of_bytes_of_redis_memory(
    served: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    """What the headline reads as growth: Redis's used_memory is the whole server's (other
    tests' databases share it), so here each kept record's own size, as Redis counts it."""
    app, client = served
    await client.get(TECHNIQUE.url("kept_forever", {"first": 1, "jobs": 20}))
    lanes: JobLanes = app.state.job_lanes
    keys = [key async for key in lanes.redis.scan_iter(match=lanes.records_of(lanes.records))]
    sizes = [await lanes.redis.memory_usage(key) for key in keys]
    assert len(sizes) >= 20 and all(size > 200 for size in sizes)  # > 2 MB per 10k jobs


@pytest.mark.parametrize("variant", ["kept_forever", "deleted_on_finish"])
async def test_the_harness_reads_what_the_queues_records_hold(
    served: tuple[FastAPI, httpx.AsyncClient], variant: str
) -> None:
    """The headline's growth: the sum of the records' own sizes, which only kept ones add to
    (other keys and other tests' databases on the same server move none of it)."""
    app, client = served
    assert TECHNIQUE.redis_memory_path == "/job-records/held"
    before = (await client.get(TECHNIQUE.redis_memory_path)).json()["used_memory"]
    await client.get(TECHNIQUE.url(variant, {"first": 1, "jobs": 20}))
    after = (await client.get(TECHNIQUE.redis_memory_path)).json()["used_memory"]
    lanes: JobLanes = app.state.job_lanes
    keys = [key async for key in lanes.redis.scan_iter(match=lanes.records_of(lanes.records))]
    assert after == sum([await lanes.redis.memory_usage(key) for key in keys])
    if variant == "kept_forever":
        assert after - before > 20 * 200  # 20 records of hundreds of bytes each
    else:
        assert after == before


async def test_the_app_reports_redis_memory_for_the_harness(
    served: tuple[FastAPI, httpx.AsyncClient], seeded: Settings
) -> None:
    _, client = served
    reported = (await client.get("/redis-memory?settle=true")).json()
    async with Redis.from_url(seeded.redis_url) as redis:
        now = int((await redis.info("memory"))["used_memory"])
    # The same server, moments apart, less its clients' buffers; at rest (one test at a
    # time), two readings agree. Under pytest-xdist another worker may keep it busy.
    assert 0 < reported["used_memory"] <= now + 2**20
    assert reported["settled"] or os.environ.get("PYTEST_XDIST_WORKER")


@pytest.mark.parametrize(("variant", "kept"), [("kept_forever", "4"), ("deleted_on_finish", "0")])
async def test_each_request_meters_its_enqueues_one_count_one_query_and_the_records_kept(
    served: tuple[FastAPI, httpx.AsyncClient], variant: str, kept: str
) -> None:
    _, client = served
    await client.get(TECHNIQUE.url(variant, {"jobs": 4}))  # the enqueue script loaded
    costs = costs_of(await client.get(TECHNIQUE.url(variant, {"jobs": 4})))
    assert (costs["redis_commands"], costs["queries"]) == ("5", "1")
    assert costs["job_records_kept"] == kept


async def test_a_reset_empties_the_table_and_keeps_the_records_as_a_soak_does(
    served: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = served
    await client.get(TECHNIQUE.url("kept_forever", {"first": 9, "jobs": 1}))
    kept = await kept_records(app)
    assert (await client.post("/job-records/reset")).status_code == 200
    assert await kept_records(app) == kept >= 1


async def test_the_app_deletes_its_queues_records_when_it_stops(seeded: Settings) -> None:
    settings = seeded.model_copy(update={"job_queue": f"test-jr-stop-{os.getpid()}"})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        lanes: JobLanes = app.state.job_lanes
        pattern = lanes.job_pattern
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
            await client.get(TECHNIQUE.url("kept_forever", {"first": 5, "jobs": 2}))
        assert await kept_records(app) == 2
    async with Redis.from_url(seeded.redis_url) as redis:
        assert [key async for key in redis.scan_iter(match=pattern)] == []


@pytest.mark.parametrize(("name", "bad"), [("first", "0"), ("first", "x"), ("jobs", "101")])
async def test_every_variant_rejects_bad_input(
    served: tuple[FastAPI, httpx.AsyncClient], name: str, bad: str
) -> None:
    _, client = served
    await assert_every_variant_rejects(client, TECHNIQUE, name, bad)
