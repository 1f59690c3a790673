"""Invalidation by pattern: KEYS + DEL vs SCAN + UNLINK vs a per-user tag set.

Contract: drop every cached key of user `user_id`, and only those, among the cache's
100k keys (CACHED_USERS users x KEYS_PER_USER fragments); answer whether the cache
took the order. Redis runs commands one at a time, so what an invalidation costs is
paid mostly by everyone else: KEYS walks the whole keyspace in one command, during
which no other client is served; SCAN walks it in short steps that other commands
slip between; a tag set (the keys written for a user, kept in a Redis set as they
are written) names them without walking anything.

So the load that measures this mixes the two (see scenarios/invalidation.py): one
user is an invalidation job asking for the same rate with every variant, while the
others read fragments of users that are never invalidated. Each kind is measured apart:
the invalidations are the variant's own requests (their latency and exact costs), and
the reads, named "read", are what a concurrent reader suffers.
"""

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from redis.asyncio import Redis

from bench_app.cache_fallback import or_fallback
from bench_app.effects import KeysGone
from bench_app.get_or_set import cached_bytes
from bench_app.headline import Headline
from bench_app.redis_client import RedisDep, cache_key
from bench_app.responses import REDIS_UNAVAILABLE
from bench_app.technique import Technique

router = APIRouter(prefix="/invalidation", tags=["invalidation"])

KEY_SPACE = cache_key("invalidation")
CACHED_USERS = 1000
KEYS_PER_USER = 100  # 100k fragment keys in all, plus one tag set per user
FRAGMENT_TTL_S = 1800.0  # outlives a run; gone by itself after it
SCAN_COUNT = 1000  # keys SCAN examines per step: Redis's own guidance for large keyspaces
# The load reads users the invalidator never touches, so every read is a cache hit
# whose latency depends only on what Redis is busy with.
INVALIDATED_USERS = range(1, CACHED_USERS // 2 + 1)
DEFAULT_USER_ID = INVALIDATED_USERS[0]
READ_USERS = range(CACHED_USERS // 2 + 1, CACHED_USERS + 1)

UserId = Annotated[int, Query(ge=1, le=CACHED_USERS, description="Whose cached keys to drop.")]
Item = Annotated[int, Query(ge=0, lt=KEYS_PER_USER, description="Which of the user's fragments.")]


class Invalidated(BaseModel):
    user_id: int
    invalidated: bool  # False when Redis could not be reached: nothing was dropped


class Fragment(BaseModel):
    user_id: int
    item: int
    fragment: str


def fragment_key(user_id: int, item: int) -> str:
    return f"{KEY_SPACE}:user:{user_id}:item:{item}"


def user_pattern(user_id: int) -> str:
    """All of a user's keys, as a glob: the trailing colon keeps user 1 from matching user 12."""
    return f"{KEY_SPACE}:user:{user_id}:*"


def tag_key(user_id: int) -> str:
    """The set of every key written for a user (its tag), kept as they are written."""
    return f"{KEY_SPACE}:tag:user:{user_id}"


def render_fragment(user_id: int, item: int) -> str:
    """The source of truth behind a fragment: cheap and deterministic, so reads measure Redis."""
    return f"<li>user {user_id}, fragment {item}: rendered once, served from the cache</li>"


@router.get("/keys-del", response_model=Invalidated)
async def keys_del(redis: RedisDep, user_id: UserId = DEFAULT_USER_ID) -> Invalidated:
    """KEYS pattern, then DEL: one command that walks every key while all clients wait."""
    keys = await or_fallback(redis.keys(user_pattern(user_id)), None)
    if keys is None:
        return Invalidated(user_id=user_id, invalidated=False)
    if keys:
        await or_fallback(redis.delete(*keys), 0)
    return Invalidated(user_id=user_id, invalidated=True)


async def scan_all(redis: Redis, pattern: str) -> list[bytes | str]:
    return [key async for key in redis.scan_iter(match=pattern, count=SCAN_COUNT)]


@router.get("/scan-unlink", response_model=Invalidated)
async def scan_unlink(redis: RedisDep, user_id: UserId = DEFAULT_USER_ID) -> Invalidated:
    """SCAN in steps of SCAN_COUNT, then UNLINK: many short commands others slip between."""
    keys = await or_fallback(scan_all(redis, user_pattern(user_id)), None)
    if keys is None:
        return Invalidated(user_id=user_id, invalidated=False)
    if keys:
        await or_fallback(redis.unlink(*keys), 0)
    return Invalidated(user_id=user_id, invalidated=True)


@router.get("/tag-set", response_model=Invalidated)
async def tag_set(redis: RedisDep, user_id: UserId = DEFAULT_USER_ID) -> Invalidated:
    """SMEMBERS of the user's tag set, then UNLINK those keys and the set: no walk at all."""
    keys = await or_fallback(redis.smembers(tag_key(user_id)), None)
    if keys is None:
        return Invalidated(user_id=user_id, invalidated=False)
    await or_fallback(redis.unlink(*keys, tag_key(user_id)), 0)
    return Invalidated(user_id=user_id, invalidated=True)


@router.get("/read", response_model=Fragment)
async def read(redis: RedisDep, user_id: UserId, item: Item) -> Fragment:
    """A concurrent reader: one cached fragment (cache-aside, tagging what it writes)."""
    cached = await cached_bytes(redis, fragment_key(user_id, item))
    if cached is not None:
        return Fragment(user_id=user_id, item=item, fragment=cached.decode())
    fragment = render_fragment(user_id, item)
    await or_fallback(cache_fragments(redis, [user_id], [item]), None)
    return Fragment(user_id=user_id, item=item, fragment=fragment)


# Writes a user's fragments and adds them to the user's tag set in one atomic step, so
# no key ever exists untagged (the tag-set variant would miss it).
WRITE_AND_TAG = """
local ttl_ms = ARGV[#ARGV]
local tag = KEYS[#KEYS]
for i = 1, #KEYS - 1 do
  redis.call('SET', KEYS[i], ARGV[i], 'PX', ttl_ms)
end
redis.call('SADD', tag, unpack(KEYS, 1, #KEYS - 1))
redis.call('PEXPIRE', tag, ttl_ms)
"""


async def cache_fragments(redis: Redis, user_ids: Sequence[int], items: Sequence[int]) -> None:
    """Cache these fragments of these users, each key tagged with its user: one round trip.

    Every write path must tag what it writes, or the tag-set variant misses keys: that
    bookkeeping is the price of its cheap invalidation.
    """
    write_and_tag = redis.register_script(WRITE_AND_TAG)
    ttl_ms = round(FRAGMENT_TTL_S * 1000)
    pipe = redis.pipeline(transaction=False)
    for user_id in user_ids:
        keys = [fragment_key(user_id, item) for item in items]
        fragments = [render_fragment(user_id, item) for item in items]
        await write_and_tag(keys=[*keys, tag_key(user_id)], args=[*fragments, ttl_ms], client=pipe)
    await pipe.execute()


@router.post("/reset", responses=REDIS_UNAVAILABLE)
async def reset(redis: RedisDep) -> dict[str, int]:
    """Cache every fragment of every user, so each load segment starts from the same 100k keys."""
    items = range(KEYS_PER_USER)
    batch = 50  # users per pipeline: bounds its memory
    for first in range(1, CACHED_USERS + 1, batch):
        users = range(first, min(first + batch, CACHED_USERS + 1))
        await cache_fragments(redis, users, items)
    return {"keys": CACHED_USERS * KEYS_PER_USER, "tag_sets": CACHED_USERS}


@router.post("/refill", responses=REDIS_UNAVAILABLE)
async def refill(redis: RedisDep, user_id: UserId = DEFAULT_USER_ID) -> dict[str, int]:
    """Cache every fragment of one user again: what the equivalence check invalidates."""
    await cache_fragments(redis, [user_id], range(KEYS_PER_USER))
    return {"keys": KEYS_PER_USER}


TECHNIQUE = Technique(
    key="invalidation",
    area="caching",
    title="Invalidation by pattern: KEYS + DEL vs SCAN + UNLINK vs tag sets",
    summary=(
        "Dropping one user's cached keys among 100k by pattern. KEYS walks the whole keyspace "
        "in one command, and Redis serves no one else meanwhile; SCAN walks it in short steps "
        "that other commands slip between, though the invalidation itself takes longer (a "
        "round trip per step); a per-user tag set names the keys without any walk, at the "
        "price of tagging every key as it is written. Under load one user is an invalidation "
        "job asking for 20 users a second, one at a time (KEYS and SCAN cannot keep up, so one "
        "of theirs is always running; tag sets can), while the others read fragments of users "
        "never invalidated, at a fixed arrival rate. The invalidations are the variant's own "
        "requests, where SCAN is slowest (a round trip per step); the reads are a request "
        'kind of their own, "read": their latency is what a concurrent reader suffers, '
        "and where KEYS costs most."
    ),
    guide_section="Caching Strategies / Multi-Level Caching Implementation",
    router=router,
    variants=("keys_del", "scan_unlink", "tag_set"),
    baseline="keys_del",
    headline=Headline("p99_ms", "read"),
    scenario="scenarios.invalidation",
    params={"user_id": DEFAULT_USER_ID},
    proof=(
        "per invalidation: Redis round trips 2 -> ~100 (a SCAN step per 1000 keys) -> 2; "
        "keys examined 100k -> 100k -> 100"
    ),
    caveats=(
        "KEYS examines the 100k keys in one command, SCAN in ~100 steps that other clients "
        "slip between, a tag set only the user's 100: so a concurrent reader waits up to a "
        "whole KEYS walk, one SCAN step, next to nothing."
    ),
    reset_path="/invalidation/reset",
    effects=(
        KeysGone(
            pattern=lambda params: user_pattern(params["user_id"]),
            refill_path="/invalidation/refill",
        ),
    ),
)
