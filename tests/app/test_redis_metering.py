"""The Redis meter: commands and round trips per request, a pipeline or MGET being one trip."""

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from bench_app.metering import metered
from bench_app.redis_client import cache_key, make_redis
from bench_app.redis_metering import MeteredRedis, count_cache_lookups
from bench_app.settings import Settings

SPACE = cache_key("test_redis_metering")


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[MeteredRedis]:
    client = make_redis(settings)
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=f"{SPACE}:*")]
        if keys:
            await client.unlink(*keys)
        await client.aclose()


def test_the_app_shares_one_metered_client(app: FastAPI) -> None:
    assert isinstance(app.state.redis, MeteredRedis)


async def test_each_command_is_one_round_trip(redis: MeteredRedis) -> None:
    with metered() as cost:
        await redis.set(f"{SPACE}:a", b"1")
        await redis.get(f"{SPACE}:a")
        await redis.get(f"{SPACE}:missing")
    assert (cost.redis_commands, cost.redis_round_trips) == (3, 3)


async def test_mget_is_one_command_and_one_round_trip(redis: MeteredRedis) -> None:
    keys = [f"{SPACE}:{n}" for n in range(100)]
    with metered() as cost:
        await redis.mget(keys)
    assert (cost.redis_commands, cost.redis_round_trips) == (1, 1)


async def test_a_pipeline_is_one_round_trip_for_all_its_commands(redis: MeteredRedis) -> None:
    with metered() as cost:
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(10):
                pipe.get(f"{SPACE}:{n}")
            replies = await pipe.execute()
    assert replies == [None] * 10
    assert (cost.redis_commands, cost.redis_round_trips) == (10, 1)


async def test_a_transaction_also_sends_multi_and_exec(redis: MeteredRedis) -> None:
    with metered() as cost:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.set(f"{SPACE}:x", b"1").incr(f"{SPACE}:y").get(f"{SPACE}:x")
            assert await pipe.execute() == [True, 1, b"1"]
    assert (cost.redis_commands, cost.redis_round_trips) == (5, 1)


async def test_an_empty_pipeline_sends_nothing(redis: MeteredRedis) -> None:
    with metered() as cost:
        assert await redis.pipeline(transaction=False).execute() == []
    assert (cost.redis_commands, cost.redis_round_trips) == (0, 0)


async def test_scan_counts_every_cursor_step(redis: MeteredRedis) -> None:
    await redis.mset({f"{SPACE}:scan:{n}": b"v" for n in range(30)})
    with metered() as cost:
        found = [key async for key in redis.scan_iter(match=f"{SPACE}:scan:*", count=10)]
    assert len(found) == 30
    assert cost.redis_commands == cost.redis_round_trips >= 1


async def test_requests_are_metered_apart_and_nothing_outside_one(redis: MeteredRedis) -> None:
    await redis.get(f"{SPACE}:unmetered")  # outside a request: no meter, no error
    with metered() as first:
        await redis.get(f"{SPACE}:a")
        count_cache_lookups(misses=1)
    with metered() as second:
        await redis.mget([f"{SPACE}:a", f"{SPACE}:b"])
        count_cache_lookups(hits=2)
    assert (first.redis_commands, first.cache_hits, first.cache_misses) == (1, 0, 1)
    assert (second.redis_commands, second.cache_hits, second.cache_misses) == (1, 2, 0)
