"""The app's Redis client: one connection pool for the app's lifetime, shared by all requests."""

from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis

from bench_app.settings import Settings

KEY_PREFIX = "pairbench:"  # every key the app writes starts with this; nothing else is touched


def make_redis(settings: Settings) -> "Redis":
    """A client on a shared pool; creating it connects lazily, on first use."""
    return Redis.from_url(settings.redis_url)


def get_redis(request: Request) -> "Redis":
    """FastAPI dependency: the app's shared client."""
    client: Redis = request.app.state.redis
    return client


RedisDep = Annotated[Redis, Depends(get_redis)]
