"""The app's Redis client: one connection pool for the app's lifetime, shared by all requests."""

from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bench_app.redis_metering import MeteredRedis
from bench_app.settings import Settings

KEY_PREFIX = "pairbench:"  # every key the app writes starts with this; nothing else is touched

# A cache must fail fast: redis-py's defaults (5 s timeouts, 10 retries with backoff) would
# turn a Redis outage into requests hanging for seconds instead of falling back to the
# database. One immediate retry still rides over a pooled connection that a Redis restart
# has closed. The timeouts sit far above any command the app sends (a KEYS over the
# invalidation technique's 100k keys takes ~100 ms), so they only fire on a dead server.
SOCKET_TIMEOUT_S = 1.0
SOCKET_CONNECT_TIMEOUT_S = 0.5
RETRIES = 1
# When every connection is busy (Redis stalled behind a slow command), a request waits
# for one, as it would for the server, rather than taking a full pool for an outage.
MAX_CONNECTIONS = 100
POOL_WAIT_S = SOCKET_TIMEOUT_S


def make_redis(settings: Settings) -> Redis:
    """A client on a shared pool, metered unless the meter is off; it connects on first use."""
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_CONNECT_TIMEOUT_S,
        retry=Retry(NoBackoff(), RETRIES),
    )
    # from_pool: the client owns the pool and closes it in aclose().
    client = (MeteredRedis if settings.meter else Redis).from_pool(pool)
    assert isinstance(client, Redis)
    return client


def cache_key(*parts: object) -> str:
    """A key under the app's prefix: ("batch_get", "user", 7) -> "pairbench:batch_get:user:7"."""
    return KEY_PREFIX + ":".join(str(part) for part in parts)


def get_redis(request: Request) -> Redis:
    """FastAPI dependency: the app's shared client."""
    client: Redis = request.app.state.redis
    return client


RedisDep = Annotated[Redis, Depends(get_redis)]
