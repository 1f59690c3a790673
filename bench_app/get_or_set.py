"""Cache-aside in one call: the cached value if Redis has it, else compute it and cache it."""

from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from bench_app.cache_fallback import or_fallback
from bench_app.redis_metering import count_cache_lookups


async def peek_bytes(redis: Redis, key: str) -> bytes | None:
    """The bytes at `key` (None if absent or Redis is unreachable), not metered as a lookup.

    For second looks (a re-check before recomputing, a poll for another's answer): the
    request's cache lookup is its first look, and counting the others would skew the
    hit rate.
    """
    value = await or_fallback(redis.get(key), None)
    return value if value is None or isinstance(value, bytes) else value.encode()


async def cached_bytes(redis: Redis, key: str) -> bytes | None:
    """The bytes cached at `key`, or None on a miss or when Redis is unreachable: a lookup."""
    value = await peek_bytes(redis, key)
    count_cache_lookups(hits=int(value is not None), misses=int(value is None))
    return value


async def store_bytes(redis: Redis, key: str, value: bytes, ttl_s: float) -> None:
    """Cache `value` at `key` for `ttl_s` seconds; a Redis failure only costs the next reader."""
    await or_fallback(redis.set(key, value, px=round(ttl_s * 1000)), None)


async def get_or_set(
    redis: Redis, key: str, ttl_s: float, compute: Callable[[], Awaitable[bytes]]
) -> bytes:
    """Cache-aside: the bytes cached at `key`, else `compute()`'s, cached for `ttl_s` seconds."""
    cached = await cached_bytes(redis, key)
    if cached is not None:
        return cached
    value = await compute()
    await store_bytes(redis, key, value, ttl_s)
    return value
