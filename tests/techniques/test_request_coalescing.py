"""request_coalescing: same answer; a burst of identical requests makes one upstream call."""

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bench_app.main import create_app
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from pairbench.env.upstream import Upstream, running_upstream
from pairbench.env.upstream_stub import StubConfig, item_value
from tests.contract import assert_every_variant_answers, assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["request_coalescing"]
SLOW_MS = 300.0


async def burst(client: httpx.AsyncClient, variant: str, size: int, item: int = 7) -> int:
    """`size` identical requests at once; the upstream calls their cost meters counted."""
    url = TECHNIQUE.url(variant, {"item": item})
    responses = await asyncio.gather(*(client.get(url) for _ in range(size)))
    assert all(response.status_code == 200 for response in responses)
    assert {response.content for response in responses} == {responses[0].content}
    return sum(int(costs_of(response)["upstream_calls"]) for response in responses)


@pytest.mark.parametrize("item", [1, 4242])
async def test_every_variant_returns_the_upstreams_record(
    client: httpx.AsyncClient, item: int
) -> None:
    expected = {"key": str(item), "value": item_value(str(item))}
    await assert_every_variant_answers(client, TECHNIQUE, {"item": item}, expected)


@pytest.fixture(scope="module")
def slow_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """A stub slow enough (SLOW_MS) that a burst sent at once is surely all in flight together,
    however busy the machine: the test is of coalescing, not of the scheduler's speed."""
    log_path = tmp_path_factory.mktemp("slow-upstream") / "stub.log"
    with running_upstream(log_path, lambda _: None, StubConfig(latency_ms=SLOW_MS)) as stub:
        yield stub


@pytest.fixture
async def slow_client(
    seeded: Settings, slow_upstream: Upstream
) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(seeded.model_copy(update={"upstream_url": slow_upstream.url}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
            yield client


@pytest.mark.parametrize("size", [8, 32])
async def test_a_burst_makes_one_call_when_coalesced(
    slow_client: httpx.AsyncClient, slow_upstream: Upstream, size: int
) -> None:
    for _ in range(3):
        before = slow_upstream.counts()
        assert await burst(slow_client, "coalesced", size) == 1
        assert (slow_upstream.counts() - before).requests == 1


async def test_every_caller_calls_without_it(client: httpx.AsyncClient, upstream: Upstream) -> None:
    before = upstream.counts()
    assert await burst(client, "every_caller_calls", 8) == 8
    assert (upstream.counts() - before).requests == 8


async def test_nothing_is_kept_after_the_flight(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        response = await client.get(TECHNIQUE.url("coalesced"))
        assert costs_of(response)["upstream_calls"] == "1"


@pytest.mark.parametrize("bad", ["0", "1000001", "x"])
async def test_bad_item_is_a_422(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "item", bad)
