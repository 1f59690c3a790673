"""event_loop_blocking: same answer; blocking work holds up the loop, pure-Python CPU work
even in a thread, and only a process frees the loop of it."""

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest

from bench_app.catalogue_match import similar_names
from bench_app.loop_lag import LoopLagSampler
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from bench_app.techniques.event_loop_blocking import make_cpu_pool
from pairbench.env.upstream import Upstream
from pairbench.env.upstream_stub import item_value
from tests.contract import assert_every_variant_answers, assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["event_loop_blocking"]
HEAVY_CALLS = 8
TICK_S = 0.001
RANKINGS = 40  # ~10 ms of pure-Python CPU work each


@pytest.mark.parametrize("item", [1, 31337])
async def test_every_variant_returns_the_upstreams_record(
    client: httpx.AsyncClient, item: int
) -> None:
    key = str(item)
    expected = {"key": key, "value": item_value(key), "similar": similar_names(key)}
    answers = await assert_every_variant_answers(client, TECHNIQUE, {"item": item}, expected)
    assert all(costs_of(answer)["upstream_calls"] == "1" for answer in answers.values())
    assert (await client.get("/event-loop-blocking/bystander")).json() == {"ok": True}


async def ticks_while(work: Callable[[], Awaitable[object]]) -> int:
    """How often a 1 ms ticker ran on the loop while `work` was awaited."""
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(TICK_S)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    await work()
    done.set()
    await task
    return ticks


async def ticks_during(client: httpx.AsyncClient, variant: str) -> int:
    """How often a 1 ms ticker ran while HEAVY_CALLS requests of `variant` were served."""

    async def requests() -> None:
        for _ in range(HEAVY_CALLS):
            await client.get(TECHNIQUE.url(variant))

    return await ticks_while(requests)


async def test_only_the_blocking_call_stops_the_loop(
    client: httpx.AsyncClient, upstream: Upstream
) -> None:
    """The blocking work never yields: the ticker runs about once per request (between
    requests), never during the upstream's latency_ms, which both offloaded variants leave
    to the loop (here ~150 ticks for 8 calls, against ~9 blocked)."""
    blocked = await ticks_during(client, "blocking_in_async")
    assert upstream.config.latency_ms >= 5 * TICK_S * 1000
    assert blocked <= 2 * HEAVY_CALLS
    for variant in ("offloaded_to_thread", "cpu_offloaded_to_process"):
        assert await ticks_during(client, variant) > 2 * blocked, variant


def rank_repeatedly() -> None:
    for number in range(RANKINGS):
        similar_names(str(number))


async def test_cpu_work_in_a_thread_takes_turns_with_the_loop_and_in_a_process_does_not(
    settings: Settings,
) -> None:
    """Pure-Python work holds the GIL: from a thread it hands the loop a turn about once per
    switch interval (5 ms) at best, so a 1 ms ticker ticks several times less often than
    beside a process, which leaves the loop its GIL (here ~20 ticks against ~80 over the
    same rankings, on a busy 2-core machine; 39 against 21 once at load average 13, when the
    process itself waited for a core)."""
    in_thread = await ticks_while(lambda: asyncio.to_thread(rank_repeatedly))
    pool = make_cpu_pool(settings)
    try:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(pool, similar_names, "")  # its process started

        async def rank_in_process() -> None:
            for number in range(RANKINGS):
                await loop.run_in_executor(pool, similar_names, str(number))

        in_process = await ticks_while(rank_in_process)
    finally:
        pool.shutdown()
    assert in_thread >= 1  # it does get turns, unlike the call right inside async def
    assert in_process > 1.5 * in_thread


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
