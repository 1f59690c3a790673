"""Cache-aside: the database every time vs Redis get-or-set vs an in-process cache before Redis.

Contract: the `limit` most active authors over the data set's last `days` days (posts
created in the window that ends at the data set's present, seed.EPOCH), each with that
post count, by count descending, then id. An aggregate like this is what dashboards ask
for on every page view, though its answer changes far more slowly than it is read.

All variants build the answer with the same function; the cached ones keep its JSON
bytes, so a hit skips the query and the serialization alike. A cached answer may be up
to REDIS_TTL_S old (plus LOCAL_TTL_S in the two-level cache): that staleness is the
price, and the contract allows it.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench_app.db import SessionDep
from bench_app.effects import ConcurrentCallers
from bench_app.get_or_set import get_or_set, store_bytes
from bench_app.local_ttl_cache import LocalTTLCache
from bench_app.models import Post, User
from bench_app.redis_client import RedisDep, cache_key
from bench_app.redis_metering import count_cache_lookups
from bench_app.responses import REDIS_UNAVAILABLE, json_response
from bench_app.seed import EPOCH
from bench_app.technique import Technique

router = APIRouter(prefix="/cache-aside", tags=["cache_aside"])

DEFAULT_DAYS = 30
DEFAULT_LIMIT = 50

# Twice the longest load segment (about 30 s), counted from the reset that caches the
# answer before each segment: no entry expires inside a segment, so every measured
# request is a hit and the costs per request are exact, not "mostly 0 queries".
REDIS_TTL_S = 60.0
# Shorter than Redis's TTL: it bounds how long one process may serve an answer that
# another process has already replaced in Redis.
LOCAL_TTL_S = 5.0
LOCAL_MAX_ENTRIES = 256
KEY_SPACE = cache_key("cache_aside")

Days = Annotated[int, Query(ge=1, le=365, description="The window: the data set's last N days.")]
Limit = Annotated[int, Query(ge=1, le=200, description="How many authors to rank.")]


class ActiveAuthor(BaseModel):
    id: int
    first_name: str
    last_name: str
    posts: int


ACTIVE_AUTHORS = TypeAdapter(list[ActiveAuthor])


async def top_authors_json(session: AsyncSession, days: int, limit: int) -> bytes:
    """The expensive read: count every author's posts in the window and keep the top ones."""
    posts = func.count(Post.id).label("posts")
    query = (
        select(User.id, User.first_name, User.last_name, posts)
        .join(Post, Post.author_id == User.id)
        .where(Post.created_at >= EPOCH - timedelta(days=days), Post.created_at < EPOCH)
        .group_by(User.id)
        .order_by(posts.desc(), User.id)
        .limit(limit)
    )
    rows = (await session.execute(query)).mappings().all()
    return ACTIVE_AUTHORS.dump_json([ActiveAuthor.model_validate(row) for row in rows])


def top_authors_key(days: int, limit: int) -> str:
    return f"{KEY_SPACE}:top_authors:days={days}:limit={limit}"


def get_local_cache(request: Request) -> LocalTTLCache[bytes]:
    """FastAPI dependency: this process's in-process cache (made in the lifespan)."""
    local: LocalTTLCache[bytes] = request.app.state.cache_aside_local
    return local


LocalCacheDep = Annotated[LocalTTLCache[bytes], Depends(get_local_cache)]


@router.get("/database", response_model=list[ActiveAuthor])
async def database(
    session: SessionDep, days: Days = DEFAULT_DAYS, limit: Limit = DEFAULT_LIMIT
) -> Response:
    """Run the aggregate on every request: one query, every time."""
    return json_response(await top_authors_json(session, days, limit))


@router.get("/redis", response_model=list[ActiveAuthor])
async def redis(
    session: SessionDep, redis: RedisDep, days: Days = DEFAULT_DAYS, limit: Limit = DEFAULT_LIMIT
) -> Response:
    """Get-or-set in Redis with a TTL: one GET per request, the query once per TTL."""
    key = top_authors_key(days, limit)
    compute = partial(top_authors_json, session, days, limit)
    body = await get_or_set(redis, key, REDIS_TTL_S, compute)
    return json_response(body)


@router.get("/two-level", response_model=list[ActiveAuthor])
async def two_level(
    session: SessionDep,
    redis: RedisDep,
    local: LocalCacheDep,
    days: Days = DEFAULT_DAYS,
    limit: Limit = DEFAULT_LIMIT,
) -> Response:
    """An in-process TTL/LRU cache in front of Redis: most requests touch no server at all."""
    key = top_authors_key(days, limit)
    body = local.get(key)
    if body is not None:
        count_cache_lookups(hits=1)
        return json_response(body)
    compute = partial(top_authors_json, session, days, limit)
    body = await get_or_set(redis, key, REDIS_TTL_S, compute)
    local.set(key, body)
    return json_response(body)


@router.post("/reset", responses=REDIS_UNAVAILABLE)
async def reset(
    session: SessionDep,
    redis: RedisDep,
    local: LocalCacheDep,
    days: Days = DEFAULT_DAYS,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, int]:
    """Empty both cache levels, then cache the answer for these parameters in both, fresh.

    The harness posts the point's parameters before each load segment, so the segment
    starts warm: every request is a hit, and no TTL set here runs out inside it (see
    REDIS_TTL_S). The in-process level still expires every LOCAL_TTL_S, as it must to
    bound staleness; each expiry costs one Redis GET, a hit, never a query.
    """
    keys = [key async for key in redis.scan_iter(match=f"{KEY_SPACE}:*", count=1000)]
    if keys:
        await redis.unlink(*keys)
    local.clear()
    key = top_authors_key(days, limit)
    body = await top_authors_json(session, days, limit)
    await store_bytes(redis, key, body, REDIS_TTL_S)
    local.set(key, body)
    return {"dropped": len(keys), "cached": 1}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.cache_aside_local = LocalTTLCache[bytes](LOCAL_MAX_ENTRIES, LOCAL_TTL_S)
    yield


TECHNIQUE = Technique(
    key="cache_aside",
    area="caching",
    title="Cache-aside: database every time vs Redis vs two-level cache",
    summary=(
        "An aggregate that changes slowly but is read on every page view need not be "
        "recomputed each time. Cache-aside keeps its serialized answer in Redis with a TTL: "
        "a hit is one GET and no query. A small in-process TTL/LRU cache in front of Redis "
        "saves even that round trip, at the cost of answers up to a few seconds staler per "
        "process. Each load segment starts with the answer cached (the reset warms it), so "
        "every measured request is a hit and the costs per request are exact; the hit rate is "
        "cache_hits / (cache_hits + cache_misses) per request, to read against the seed's "
        "target of more than 80%."
    ),
    guide_section="Caching Strategies / Multi-Level Caching Implementation",
    router=router,
    variants=("database", "redis", "two_level"),
    baseline="database",
    params={"days": DEFAULT_DAYS, "limit": DEFAULT_LIMIT},
    sweep={"days": [7, 90, 365]},
    effects=(ConcurrentCallers(vary={"limit": [5, 10, 20, 50]}),),
    proof=(
        "per request: queries 1 -> ~0 -> ~0; Redis commands 0 -> 1 -> ~0 (one per process per "
        f"{LOCAL_TTL_S:g} s); hit rate (hits / lookups) -> ~100% for both caches"
    ),
    lifespan=lifespan,
    reset_path="/cache-aside/reset",
)
