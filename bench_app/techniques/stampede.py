"""Cache stampede: every miss recomputes vs single-flight, in-process and across processes.

Contract: the `top` most discussed posts (comment count descending, then post id), each
with its title, author and comment count, read through a Redis cache. When a popular key
expires, every request that misses at that moment recomputes it: K requests, K copies
of the same expensive query at once, all slower for the contention. Single-flight lets
one request recompute while the others wait for its answer.

Recomputations are database queries here (one per recomputation), so the meter's
queries per request, times the burst size K, is the recomputations per burst.
"""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench_app.db import SessionsDep
from bench_app.effects import ConcurrentCallers
from bench_app.get_or_set import cached_bytes, get_or_set
from bench_app.models import Comment, Post, User
from bench_app.redis_client import RedisDep, cache_key
from bench_app.redis_lock_flight import compute_in_one_process, recheck_then_compute
from bench_app.responses import REDIS_UNAVAILABLE, json_response
from bench_app.stampede_flights import FlightsDep, flights_lifespan
from bench_app.technique import Technique

router = APIRouter(prefix="/stampede", tags=["stampede"])

DEFAULT_TOP = 20
TTL_S = 60.0
KEY_SPACE = cache_key("stampede")

Top = Annotated[int, Query(ge=1, le=100, description="How many posts to rank.")]


class DiscussedPost(BaseModel):
    id: int
    title: str
    author: str
    comments: int


DISCUSSED_POSTS = TypeAdapter(list[DiscussedPost])


async def most_discussed_json(sessions: async_sessionmaker[AsyncSession], top: int) -> bytes:
    """The expensive recomputation: count every post's comments and keep the top ones.

    It opens its own session: under single-flight it runs for many requests at once,
    so it must not borrow (and outlive) the session of whichever request started it.
    """
    comments = func.count(Comment.id).label("comments")
    author = (User.first_name + " " + User.last_name).label("author")
    query = (
        select(Post.id, Post.title, author, comments)
        .join(User, User.id == Post.author_id)
        .outerjoin(Comment, Comment.post_id == Post.id)
        .group_by(Post.id, User.id)
        .order_by(comments.desc(), Post.id)
        .limit(top)
    )
    async with sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return DISCUSSED_POSTS.dump_json([DiscussedPost.model_validate(row) for row in rows])


def report_key(top: int) -> str:
    return f"{KEY_SPACE}:most_discussed:top={top}"


@router.get("/every-miss-recomputes", response_model=list[DiscussedPost])
async def every_miss_recomputes(
    sessions: SessionsDep, redis: RedisDep, top: Top = DEFAULT_TOP
) -> Response:
    """Plain get-or-set: every request that misses recomputes, K at once after an expiry."""
    compute = partial(most_discussed_json, sessions, top)
    return json_response(await get_or_set(redis, report_key(top), TTL_S, compute))


@router.get("/single-flight", response_model=list[DiscussedPost])
async def single_flight(
    sessions: SessionsDep, redis: RedisDep, flights: FlightsDep, top: Top = DEFAULT_TOP
) -> Response:
    """In-process single-flight: one request per process recomputes, the rest await it."""
    key = report_key(top)
    body = await cached_bytes(redis, key)
    if body is None:
        compute = partial(most_discussed_json, sessions, top)
        body = await flights.in_process.do(
            key, partial(recheck_then_compute, redis, key, compute, TTL_S)
        )
    return json_response(body)


@router.get("/single-flight-redis-lock", response_model=list[DiscussedPost])
async def single_flight_redis_lock(
    sessions: SessionsDep, redis: RedisDep, flights: FlightsDep, top: Top = DEFAULT_TOP
) -> Response:
    """Single-flight in-process, plus a Redis lock: one request recomputes across processes."""
    key = report_key(top)
    body = await cached_bytes(redis, key)
    if body is None:
        compute = partial(most_discussed_json, sessions, top)
        body = await flights.across_processes.do(
            key, partial(compute_in_one_process, redis, key, compute, TTL_S)
        )
    return json_response(body)


@router.post("/expire", responses=REDIS_UNAVAILABLE)
async def expire(redis: RedisDep, top: Top = DEFAULT_TOP) -> dict[str, int]:
    """Drop the cached answer for `top`, as its TTL would: the next readers all miss."""
    return {"dropped": await redis.unlink(report_key(top))}


@router.post("/reset", responses=REDIS_UNAVAILABLE)
async def reset(redis: RedisDep) -> dict[str, int]:
    """Drop every cached answer and lock, so each load segment starts alike."""
    keys = [key async for key in redis.scan_iter(match=f"{KEY_SPACE}:*", count=1000)]
    return {"dropped": await redis.unlink(*keys) if keys else 0}


TECHNIQUE = Technique(
    key="stampede",
    area="caching",
    title="Cache stampede: every miss recomputes vs single-flight",
    summary=(
        "When a hot key expires, every request that misses before it is refilled "
        "recomputes it: a burst of K requests runs K copies of one expensive query at "
        "once, each slowed by the others. Single-flight lets the first request recompute "
        "while the others await its answer: in-process with a map of running tasks, and "
        "across app processes with a Redis lock (SET NX PX, released by token) whose "
        "holder computes while other processes poll for its answer. The workload fires "
        "bursts: all load users wait for each other, the key is dropped, and all request "
        "it at once, so every request misses (a hit rate of 0% by design). Recomputations "
        "per burst = queries per request x K, the number of load users."
    ),
    guide_section=None,  # the guide has no section on it
    router=router,
    variants=("every_miss_recomputes", "single_flight", "single_flight_redis_lock"),
    baseline="every_miss_recomputes",
    scenario="scenarios.stampede",
    params={"top": DEFAULT_TOP},
    effects=(ConcurrentCallers(vary={"top": [5, 10, 15, 20, 25, 30]}),),
    proof="recomputations per burst of K requests: K -> 1 -> 1 (queries per request: 1 -> 1/K)",
    lifespan=flights_lifespan,
    reset_path="/stampede/reset",
)
