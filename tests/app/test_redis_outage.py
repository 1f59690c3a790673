"""The cache degrades, never fails: Redis dies mid-run, and every cached variant still answers.

The app gets a redis-server of its own, started here; under concurrent requests to
every cached variant, the server is killed. Every response before and after is a 200
(or the 304 a held ETag earns) with the same body, the answers come from the
database once Redis is gone, and the outage is logged as a warning.

The second test needs no list: it asks every technique's every variant and hook, so a
new Redis user (a technique, a queue) is covered the day it is registered. With Redis
dead each must answer as it did, or with the 503 it declares (an endpoint that cannot
do its job without Redis, such as a cache reset or a job submission, says so).
"""

import asyncio
import logging
import subprocess
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

from bench_app.main import create_app
from bench_app.settings import Settings
from bench_app.technique import Technique
from bench_app.techniques import all_techniques
from pairbench.load.equivalence import decoded, first_difference
from tests.costs import costs_of
from tests.throwaway_redis import throwaway_redis

WORKERS = 4
ROUNDS = 4


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


@pytest.fixture
def doomed_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server only this test uses, so it can be killed without harming anyone."""
    with throwaway_redis(tmp_path) as (url, server):
        yield url, server


@pytest.fixture
async def outage_app(
    seeded: Settings, doomed_redis: tuple[str, subprocess.Popen[bytes]]
) -> AsyncIterator[FastAPI]:
    url, _ = doomed_redis
    application = create_app(seeded.model_copy(update={"redis_url": url}))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def outage_client(outage_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=outage_app)
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
    first_round_done, redis_dead = asyncio.Event(), asyncio.Event()

    async def worker() -> None:
        for round_number in range(ROUNDS):
            if round_number == 2:  # rounds 0 and 1 run across the kill, the last ones after it
                await redis_dead.wait()
            for case in cases:
                # Whether Redis was gone before the request was sent: one in flight as it died
                # may have done its Redis work while it lived (an invalidation that happened).
                dead = redis_dead.is_set()
                response = await client.get(case.path, headers=dict(case.headers))
                answers.append((case, response, dead))
            if round_number == 0:
                first_round_done.set()

    async def kill_redis_mid_run() -> None:
        await first_round_done.wait()
        server.kill()
        await asyncio.to_thread(server.wait)  # dead and reaped: no command reaches it now
        redis_dead.set()

    with caplog.at_level(logging.WARNING, logger="bench_app.cache"):
        await asyncio.gather(kill_redis_mid_run(), *(worker() for _ in range(WORKERS)))

    assert server.poll() is not None, "Redis was killed"
    for case, response, _ in answers:
        assert response.status_code == case.status, (case.path, response.text[:200])
        if case.status == 200 and case.same_body_always:
            assert response.content == reference[case.path], case.path
    after = [(case, response) for case, response, dead in answers if dead]
    assert len(after) >= 2 * len(cases) * WORKERS, "the last two rounds came after Redis died"
    from_database = {case.path for case, response in after if costs_of(response)["queries"] != "0"}
    assert {"/batch-get/mget?first=41&count=20", "/stampede/single-flight?top=6"} <= from_database
    invalidations = [r.json() for c, r in after if not c.same_body_always]
    assert invalidations and not any(answer["invalidated"] for answer in invalidations)
    assert any("Redis unavailable" in record.getMessage() for record in caplog.records)


@dataclass(frozen=True)
class Request:
    """A request the harness sends: a technique's variant or one of its hooks."""

    technique: Technique
    method: str
    url: str
    variant: str | None = None  # None: a hook (reset, artifacts, params)
    content: bytes | None = None  # an upload's body
    headers: Mapping[str, str] = field(default_factory=dict)  # the variant's own, e.g. the caller

    @property
    def path(self) -> str:
        return self.url.partition("?")[0]


async def every_request_of(technique: Technique, client: httpx.AsyncClient) -> list[Request]:
    """Each variant at the default parameters (as the harness resolves them), and each hook."""
    params = dict(technique.params)
    found = []
    if technique.params_path:
        hook = Request(technique, "GET", f"{technique.params_path}?{urlencode(params)}")
        params |= (await client.get(hook.url)).json()
        found.append(hook)
    for variant in technique.variants:
        sent = technique.request(variant, params)
        found.append(Request(technique, sent.method, sent.url, variant, sent.content, sent.headers))
    if technique.reset_path:
        found.append(Request(technique, "POST", technique.reset_path))
    if technique.artifacts_path:
        found.append(Request(technique, "GET", technique.artifacts_path))
    return found


async def answers_to(
    client: httpx.AsyncClient, requests: list[Request]
) -> list[tuple[Request, httpx.Response]]:
    return [
        (
            request,
            await client.request(
                request.method, request.url, content=request.content, headers=request.headers
            ),
        )
        for request in requests
    ]


def declared_statuses(application: FastAPI, request: Request) -> set[int]:
    operation = application.openapi()["paths"][request.path][request.method.lower()]
    return {int(status) for status in operation["responses"]}


async def test_every_redis_user_answers_through_an_outage(
    outage_app: FastAPI,
    outage_client: httpx.AsyncClient,
    doomed_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    client, (_, server) = outage_client, doomed_redis
    requests = [
        request
        for technique in all_techniques().values()
        for request in await every_request_of(technique, client)
    ]
    with_redis = await answers_to(client, requests)
    for request, response in with_redis:
        assert response.is_success, (request.url, response.status_code, response.text[:200])
    redis_users = {
        request.technique.key
        for request, response in with_redis
        if costs_of(response)["redis_commands"] != "0"
    }
    assert redis_users >= {"cache_aside", "batch_get", "stampede", "invalidation"}, redis_users

    server.kill()
    server.wait()
    without_redis = await answers_to(client, requests)

    for (request, response), (_, before) in zip(without_redis, with_redis, strict=True):
        if response.status_code == 503 and 503 in declared_statuses(outage_app, request):
            assert "Redis" in response.json()["detail"], request.url
            continue
        assert response.status_code == before.status_code, (
            request.url,
            response.status_code,
            response.text[:200],
        )
    for technique in all_techniques().values():
        bodies = {
            request.variant: sort_if(technique, decoded(response))  # a CSV as its bytes
            for request, response in without_redis
            if request.technique is technique and request.variant and response.status_code == 200
        }
        for variant, body in bodies.items():
            difference = first_difference(bodies.get(technique.baseline), body)
            assert difference is None, f"{technique.key}/{variant} without Redis: {difference}"


def sort_if(technique: Technique, body: object) -> object:
    """The body as the technique's contract compares it: some lists are order-insensitive."""
    if technique.order_insensitive and isinstance(body, list):
        return sorted(body, key=repr)
    return body
