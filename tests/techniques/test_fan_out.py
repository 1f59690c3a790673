"""fan_out: all variants give the K records in order; K calls each, but one when batched."""

import asyncio
import time

import httpx
import pytest

from bench_app.batch_loader import BatchLoader
from bench_app.bounded_gather import gather_bounded
from bench_app.techniques import all_techniques
from pairbench.env.upstream import Upstream
from pairbench.env.upstream_stub import item_value
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["fan_out"]


@pytest.mark.parametrize(("calls", "first"), [(1, 1), (10, 5), (50, 999_990)])
async def test_every_variant_returns_the_k_records_in_order(
    client: httpx.AsyncClient, upstream: Upstream, calls: int, first: int
) -> None:
    expected = [
        {"key": str(item), "value": item_value(str(item))} for item in range(first, first + calls)
    ]
    for variant in TECHNIQUE.variants:
        before = upstream.counts()
        response = await client.get(TECHNIQUE.url(variant, {"calls": calls, "first": first}))
        assert response.status_code == 200, response.text
        assert response.json() == expected, variant
        sent = 1 if variant == "batched" else calls
        assert costs_of(response)["upstream_calls"] == str(sent)
        assert (upstream.counts() - before).requests == sent


async def test_the_bound_caps_calls_in_flight() -> None:
    in_flight, peak = 0, 0

    async def call(n: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return n

    calls = [lambda n=n: call(n) for n in range(23)]  # type: ignore[misc]
    assert await gather_bounded(calls, 4) == list(range(23))
    assert peak == 4


async def test_a_failed_call_cancels_the_rest_and_is_raised() -> None:
    finished: list[int] = []

    async def call(n: int) -> int:
        if n == 0:
            raise ValueError("upstream said no")
        await asyncio.sleep(1.0)
        finished.append(n)
        return n

    started = time.monotonic()
    with pytest.raises(ExceptionGroup):
        await gather_bounded([lambda n=n: call(n) for n in range(5)], 5)  # type: ignore[misc]
    assert finished == [] and time.monotonic() - started < 0.9


@pytest.mark.parametrize(("name", "bad"), [("calls", "0"), ("calls", "101"), ("first", "0")])
async def test_bad_parameters_are_a_422(client: httpx.AsyncClient, name: str, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, name, bad)


async def test_the_loader_sends_the_loads_of_one_turn_as_one_batch() -> None:
    batches: list[list[int]] = []

    async def load_batch(keys: list[int]) -> list[int]:
        batches.append(keys)
        return [key * 10 for key in keys]

    loader = BatchLoader(load_batch, max_batch=4)
    assert await asyncio.gather(*(loader.load(n) for n in range(6))) == [n * 10 for n in range(6)]
    assert await loader.load(7) == 70  # a later turn: a batch of its own
    assert batches == [[0, 1, 2, 3], [4, 5], [7]]


async def test_a_failed_batch_fails_each_of_its_loads() -> None:
    async def load_batch(keys: list[int]) -> list[int]:
        raise ValueError("upstream said no")

    loader = BatchLoader(load_batch, max_batch=10)
    results = await asyncio.gather(loader.load(1), loader.load(2), return_exceptions=True)
    assert [type(result) for result in results] == [ValueError, ValueError]
