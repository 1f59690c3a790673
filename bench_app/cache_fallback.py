"""The cache degrades, never fails: when Redis errs, the caller answers from the source.

A cache is an optimization, so losing it must cost speed, never answers. Every Redis
call a cached endpoint makes goes through `or_fallback`, which turns a Redis error into
the caller's fallback value (a miss, usually) and logs the outage. It logs once when an
outage begins, then at most every WARNING_INTERVAL_S with a count, and once when Redis
answers again: a dead cache under load must not also flood the log.
"""

import logging
import time
from collections.abc import Awaitable
from typing import TypeVar

from redis.exceptions import RedisError

T = TypeVar("T")
WARNING_INTERVAL_S = 10.0

logger = logging.getLogger("bench_app.cache")


class OutageLog:
    """Whether Redis is failing, and when the last warning about it went out."""

    def __init__(self) -> None:
        self.failing = False
        self.last_warning = 0.0
        self.failures_since_warning = 0

    def failed(self, error: RedisError) -> None:
        self.failures_since_warning += 1
        now = time.monotonic()
        if not self.failing:
            logger.warning("Redis unavailable (%s); answering from the source", error)
        elif now - self.last_warning >= WARNING_INTERVAL_S:
            logger.warning(
                "Redis still unavailable (%s): %d requests answered from the source since the "
                "last warning",
                error,
                self.failures_since_warning,
            )
        else:
            return
        self.failing, self.last_warning, self.failures_since_warning = True, now, 0

    def succeeded(self) -> None:
        if self.failing:
            self.failing = False
            logger.warning("Redis answers again; caching resumed")


OUTAGE = OutageLog()


async def or_fallback(operation: Awaitable[T], fallback: T) -> T:
    """The Redis operation's result, or `fallback` if Redis fails (the outage is logged)."""
    try:
        result = await operation
    except RedisError as error:
        OUTAGE.failed(error)
        return fallback
    OUTAGE.succeeded()
    return result
