"""event_loop_blocking: same answer; only the blocking variant holds up the loop."""

import asyncio
import time

import httpx
import pytest

from bench_app.loop_lag import LoopLagSampler
from bench_app.techniques import all_techniques
from pairbench.env.upstream import Upstream
from pairbench.env.upstream_stub import item_value
from tests.contract import assert_every_variant_answers, assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["event_loop_blocking"]
HEAVY_CALLS = 8
TICK_S = 0.001


@pytest.mark.parametrize("item", [1, 31337])
async def test_every_variant_returns_the_upstreams_record(
    client: httpx.AsyncClient, item: int
) -> None:
    expected = {"key": str(item), "value": item_value(str(item))}
    answers = await assert_every_variant_answers(client, TECHNIQUE, {"item": item}, expected)
    assert all(costs_of(answer)["upstream_calls"] == "1" for answer in answers.values())
    assert (await client.get("/event-loop-blocking/bystander")).json() == {"ok": True}


async def ticks_during(client: httpx.AsyncClient, variant: str) -> int:
    """How often a 1 ms ticker ran while HEAVY_CALLS requests of `variant` were served."""
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(TICK_S)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    for _ in range(HEAVY_CALLS):
        await client.get(TECHNIQUE.url(variant))
    done.set()
    await task
    return ticks


async def test_only_the_blocking_call_stops_the_loop(
    client: httpx.AsyncClient, upstream: Upstream
) -> None:
    """The blocking call never yields while it waits: the ticker runs about once per request
    (between requests), never during the upstream's latency_ms, which the offloaded call
    leaves to the loop (here ~80 ticks for 8 calls, against ~9 blocked)."""
    blocked = await ticks_during(client, "blocking_in_async")
    offloaded = await ticks_during(client, "offloaded_to_thread")
    assert upstream.config.latency_ms >= 5 * TICK_S * 1000
    assert blocked <= 2 * HEAVY_CALLS
    assert offloaded > 2 * blocked


async def test_the_lag_monitor_sees_a_blocked_loop() -> None:
    monitor = LoopLagSampler(0.01)
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(0.05)
    time.sleep(0.2)  # block the loop, as a synchronous call would
    await asyncio.sleep(0.05)
    task.cancel()
    assert max(monitor.between(0, None)) >= 0.15  # seconds


@pytest.mark.parametrize("bad", ["0", "1000001", "x"])
async def test_bad_item_is_a_422(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "item", bad)
