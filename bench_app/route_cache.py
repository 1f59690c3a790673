"""A route cache by decorator: a route's success answers cached per user, for a time set by role.

`@cached_route(ttl_by_role)` goes under the route decorator (the NestJS guide's
SmartCacheInterceptor with its @SmartCache metadata). What it keeps, and what it refuses
to keep, is the lesson:
- the key holds the route, its query and the caller (user and role), never the URL
  alone: two users asking the same URL get their own answers, never each other's;
- only a success is kept: an error (a 404, a failure) goes to the caller and is
  forgotten, so the next request tries again;
- an entry lives as long as the caller's role allows (an admin sees fresher data);
- `Cache-Control: no-cache` on the request skips the lookup and answers fresh (and
  keeps that fresh answer for the next caller);
- every lookup is metered as a hit or a miss (the app's cache counters, /metrics).

The wrapper adds the request, the Redis client and the principal to the route's own
parameters (as fastapi-cache's @cache adds request and response), so FastAPI resolves
them and the route's code stays as it was.
"""

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from pydantic import BaseModel
from redis.asyncio import Redis

from bench_app.get_or_set import cached_bytes, store_bytes
from bench_app.principal import Principal, PrincipalDep, Role
from bench_app.redis_client import RedisDep, cache_key
from bench_app.responses import json_response

KEY_SPACE = cache_key("route_cache")
NO_CACHE = "no-cache"  # the request's Cache-Control directive that skips the lookup

Endpoint = Callable[..., Awaitable[BaseModel]]
# The names the wrapper gives the parameters it adds; a route must not use them itself.
ADDED = {
    "route_cache_request": Request,
    "route_cache_redis": RedisDep,
    "route_cache_principal": PrincipalDep,
}


def entry_key(template: str, query: list[tuple[str, str]], caller: Principal) -> str:
    """The route (its template), its sorted query, and the caller: one entry per user."""
    query_string = urlencode(sorted(query))
    return f"{KEY_SPACE}:{template}?{query_string}:user={caller.user_id}:role={caller.role}"


def request_key(request: Request, caller: Principal) -> str:
    """The entry of the route serving `request`, for `caller`."""
    template = getattr(request.scope.get("route"), "path", request.url.path)
    return entry_key(template, request.query_params.multi_items(), caller)


def wants_fresh(request: Request) -> bool:
    """Whether the request asks to skip the cache (Cache-Control: no-cache)."""
    directives = request.headers.get("cache-control", "").lower().split(",")
    return NO_CACHE in (directive.strip() for directive in directives)


def cached_route(ttl_by_role: Mapping[Role, float]) -> Callable[[Endpoint], Endpoint]:
    """Cache the decorated route's JSON answers per caller, `ttl_by_role[role]` seconds."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def cached(*args: Any, **kwargs: Any) -> Any:
            request: Request = kwargs.pop("route_cache_request")
            redis: Redis = kwargs.pop("route_cache_redis")
            caller: Principal = kwargs.pop("route_cache_principal")
            key = request_key(request, caller)
            if not wants_fresh(request):
                hit = await cached_bytes(redis, key)
                if hit is not None:
                    return json_response(hit)
            answer = await endpoint(*args, **kwargs)  # an error raises: nothing is kept
            body = answer.model_dump_json().encode()
            await store_bytes(redis, key, body, ttl_by_role[caller.role])
            return json_response(body)

        signature = inspect.signature(endpoint)
        added = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
            for name, annotation in ADDED.items()
        ]
        cached.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*signature.parameters.values(), *added]
        )
        return cached

    return decorate
