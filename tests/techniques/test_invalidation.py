"""invalidation: each variant drops exactly one user's keys among 100k, and no others."""

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from bench_app.redis_client import cache_key
from bench_app.techniques import all_techniques
from bench_app.techniques.invalidation import (
    CACHED_USERS,
    KEY_SPACE,
    KEYS_PER_USER,
    fragment_key,
    render_fragment,
    tag_key,
)
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["invalidation"]
# Users whose key names share prefixes with user 12's: a sloppy pattern would catch them.
NEIGHBOURS = (1, 112, 120, 121, 212)
LOOKALIKE = cache_key("test_invalidation", "user", 12, "item", 0)  # outside the key space


async def all_keys(redis: Redis) -> set[bytes]:
    return {key async for key in redis.scan_iter(match=f"{KEY_SPACE}:*", count=5000)}


async def reset(client: httpx.AsyncClient) -> None:
    response = await client.post(TECHNIQUE.reset_path or "")
    assert response.status_code == 200


def user_keys(user_id: int) -> set[bytes]:
    return {fragment_key(user_id, item).encode() for item in range(KEYS_PER_USER)}


async def test_reset_caches_100k_tagged_keys(client: httpx.AsyncClient, app: FastAPI) -> None:
    await reset(client)
    redis: Redis = app.state.redis
    keys = await all_keys(redis)
    assert len(keys) == CACHED_USERS * (KEYS_PER_USER + 1)  # fragments and one tag set each
    assert len(keys) >= 100_000
    for user_id in (12, *NEIGHBOURS):
        assert await redis.smembers(tag_key(user_id)) == user_keys(user_id)


@pytest.mark.parametrize("variant", list(TECHNIQUE.variants))
async def test_a_variant_drops_exactly_that_users_keys(
    client: httpx.AsyncClient, app: FastAPI, variant: str
) -> None:
    redis: Redis = app.state.redis
    await reset(client)
    await redis.set(LOOKALIKE, b"not the cache's", px=60_000)
    before = await all_keys(redis)
    response = await client.get(TECHNIQUE.url(variant, {"user_id": 12}))
    assert response.status_code == 200
    assert response.json() == {"user_id": 12, "invalidated": True}
    dropped = before - await all_keys(redis)
    tag = {tag_key(12).encode()} if variant == "tag_set" else set()
    assert dropped == user_keys(12) | tag
    assert await redis.get(LOOKALIKE) == b"not the cache's"
    await redis.unlink(LOOKALIKE)


async def test_round_trips_per_invalidation(client: httpx.AsyncClient) -> None:
    await reset(client)
    trips = {}
    for user_id, variant in enumerate(TECHNIQUE.variants, start=20):
        response = await client.get(TECHNIQUE.url(variant, {"user_id": user_id}))
        trips[variant] = int(costs_of(response)["redis_round_trips"])
    assert trips["keys_del"] == 2 and trips["tag_set"] == 2
    # A SCAN step per SCAN_COUNT keys examined, then one UNLINK.
    assert trips["scan_unlink"] > 100


async def test_only_keys_del_blocks_redis_with_a_whole_keyspace_scan(
    client: httpx.AsyncClient,
) -> None:
    """What the readers' tail comes from, counted: KEYS walks all 100k keys in one command."""
    await reset(client)
    scans = {}
    for user_id, variant in enumerate(TECHNIQUE.variants, start=30):
        response = await client.get(TECHNIQUE.url(variant, {"user_id": user_id}))
        scans[variant] = int(costs_of(response)["redis_blocking_scans"])
    assert scans == {"keys_del": 1, "scan_unlink": 0, "tag_set": 0}


async def test_a_user_with_nothing_cached_is_a_no_op(client: httpx.AsyncClient) -> None:
    await reset(client)
    for variant in TECHNIQUE.variants:
        for _ in range(2):  # the second time, nothing is left to drop
            response = await client.get(TECHNIQUE.url(variant, {"user_id": 30}))
            assert response.json() == {"user_id": 30, "invalidated": True}


async def test_reads_hit_then_miss_after_invalidation_and_tag_what_they_write(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await reset(client)
    expected = {"user_id": 40, "item": 7, "fragment": render_fragment(40, 7)}
    hit = await client.get("/invalidation/read?user_id=40&item=7")
    assert hit.json() == expected and costs_of(hit)["cache_hits"] == "1"
    await client.get(TECHNIQUE.url("tag_set", {"user_id": 40}))
    miss = await client.get("/invalidation/read?user_id=40&item=7")
    assert miss.json() == expected and costs_of(miss)["cache_misses"] == "1"
    assert await app.state.redis.smembers(tag_key(40)) == {fragment_key(40, 7).encode()}


@pytest.mark.parametrize("bad", ["0", str(CACHED_USERS + 1), "x"])
async def test_bad_user_id_is_a_422(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "user_id", bad)
