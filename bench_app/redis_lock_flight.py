"""Single-flight across app processes: the holder of a Redis lock computes, the others poll.

In-process single-flight (bench_app.single_flight) collapses one process's callers; with
several app processes each would still recompute once. A Redis lock (SET NX PX, released
by token) picks one computing process; the others poll the cache for its answer.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

from redis.asyncio import Redis
from redis.exceptions import LockNotOwnedError, RedisError

from bench_app.cache_fallback import or_fallback
from bench_app.get_or_set import peek_bytes, store_bytes

# The lock outlives any recomputation by far; if its holder dies, it frees itself then.
LOCK_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.005  # how often a process without the lock looks for the holder's answer
Compute = Callable[[], Awaitable[bytes]]


async def recheck_then_compute(redis: Redis, key: str, compute: Compute, ttl_s: float) -> bytes:
    """Compute and cache for `ttl_s`, unless the key was filled since the caller missed it.

    A request whose miss was answered just before the last flight landed starts a new
    flight; this look keeps it from recomputing what that flight has just cached.
    """
    cached = await peek_bytes(redis, key)
    if cached is not None:
        return cached
    body = await compute()
    await store_bytes(redis, key, body, ttl_s)
    return body


async def compute_in_one_process(redis: Redis, key: str, compute: Compute, ttl_s: float) -> bytes:
    """The holder of the lock `key`:lock computes and caches for `ttl_s`; the others poll.

    Bounded by the lock's timeout: past it (a holder that died or stalled), or when
    Redis cannot be reached, this process computes for itself; correct, only slower.
    """
    lock = redis.lock(f"{key}:lock", timeout=LOCK_TIMEOUT_S, blocking=False)
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            acquired = await lock.acquire()
        except RedisError:
            break
        if acquired:
            try:
                return await recheck_then_compute(redis, key, compute, ttl_s)
            finally:
                with suppress(LockNotOwnedError):  # it outlived its timeout; nothing to free
                    await or_fallback(lock.release(), None)
        cached = await peek_bytes(redis, key)
        if cached is not None:
            return cached
        await asyncio.sleep(POLL_INTERVAL_S)
    return await compute()
