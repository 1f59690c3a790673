"""Route cache by decorator: every request computes its answer vs a per-user cached route.

Contract: the caller's dashboard (the caller is who the gateway's headers name, see
bench_app/principal.py): their name, how many posts they have written, and their `posts`
latest posts (id, title), newest first; a 404 when no such user exists. A dashboard has
one URL for everyone and a different answer for each caller, which is what makes caching
it by URL alone a leak (the next user gets the first one's page). A cached dashboard may
be up to its TTL old; the TTL is set by the caller's role, shortest for admins.

The cached variant is the same route under `@cached_route` (bench_app/route_cache.py,
the guide's SmartCacheInterceptor): keys per user, successes only, a TTL per role, the
request's `Cache-Control: no-cache` to skip it, and its hit rate metered.
"""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench_app.cache_fallback import or_fallback
from bench_app.db import SessionDep
from bench_app.effects import CallersInTurn
from bench_app.models import Post, User
from bench_app.principal import Principal, PrincipalDep, Role, principal_headers
from bench_app.redis_client import RedisDep
from bench_app.responses import REDIS_UNAVAILABLE, not_found
from bench_app.route_cache import KEY_SPACE, cached_route, entry_key
from bench_app.seed import ROLES
from bench_app.technique import Technique

router = APIRouter(
    prefix="/route-cache", tags=["route_cache"], responses=not_found("no user with that id")
)

DEFAULT_POSTS = 10
# An admin acts on what they see, so theirs is freshest; a member's page can lag a minute.
# Even the shortest outlives a load segment (at most ~3 s, counted from the reset that warms
# the cache): every measured request is a hit, so the costs per request are exact.
TTL_BY_ROLE = {Role.ADMIN: 10.0, Role.EDITOR: 30.0, Role.MEMBER: 60.0}
SCAN_COUNT = 1000
# The workload (scenarios/route_cache.py): callers 1 .. WORKING_SET asking in turn.
WORKING_SET = 40

Posts = Annotated[int, Query(ge=1, le=50, description="How many of the latest posts to list.")]


class PostTitle(BaseModel):
    id: int
    title: str


class Dashboard(BaseModel):
    user_id: int
    first_name: str
    last_name: str
    post_count: int
    latest: list[PostTitle]


async def dashboards_of(
    session: AsyncSession, user_ids: list[int], posts: int
) -> dict[int, Dashboard]:
    """The dashboards of the users among `user_ids` that exist: 3 queries (users, post
    counts, each one's latest posts), however many users."""
    users = await session.scalars(select(User).where(User.id.in_(user_ids)))
    count_query = select(Post.author_id, func.count()).where(Post.author_id.in_(user_ids))
    counted = await session.execute(count_query.group_by(Post.author_id))
    counts: dict[int, int] = {author_id: count for author_id, count in counted}
    rank = func.row_number().over(partition_by=Post.author_id, order_by=Post.id.desc())
    ranked = (
        select(Post.author_id, Post.id, Post.title, rank.label("rank"))
        .where(Post.author_id.in_(user_ids))
        .subquery()
    )
    latest: dict[int, list[PostTitle]] = {}
    rows = await session.execute(
        select(ranked).where(ranked.c.rank <= posts).order_by(ranked.c.author_id, ranked.c.rank)
    )
    for row in rows:
        latest.setdefault(row.author_id, []).append(PostTitle(id=row.id, title=row.title))
    return {
        user.id: Dashboard(
            user_id=user.id,
            first_name=user.first_name,
            last_name=user.last_name,
            post_count=counts.get(user.id, 0),
            latest=latest.get(user.id, []),
        )
        for user in users
    }


async def dashboard_of(session: AsyncSession, user_id: int, posts: int) -> Dashboard:
    """The caller's dashboard from the database (3 queries), or a 404."""
    found = await dashboards_of(session, [user_id], posts)
    if user_id not in found:
        raise HTTPException(404, f"no user with id {user_id}")
    return found[user_id]


@router.get("/no-cache", response_model=Dashboard)
async def no_cache(
    session: SessionDep, caller: PrincipalDep, posts: Posts = DEFAULT_POSTS
) -> Dashboard:
    """Compute the dashboard on every request: 3 queries each."""
    return await dashboard_of(session, caller.user_id, posts)


@router.get("/decorated-cache", response_model=Dashboard)
@cached_route(TTL_BY_ROLE)
async def decorated_cache(
    session: SessionDep, caller: PrincipalDep, posts: Posts = DEFAULT_POSTS
) -> Dashboard:
    """The same route under @cached_route: a hit is one Redis GET and no query; a miss is
    the 3 queries, a GET and a SET."""
    return await dashboard_of(session, caller.user_id, posts)


def caller(user_id: int) -> Principal:
    """A caller of the workload, in the seed's mix of roles (3 members, an editor, an admin
    in 5), by id."""
    return Principal(user_id, Role(ROLES[user_id % len(ROLES)]))


@router.post("/reset", responses=REDIS_UNAVAILABLE)
async def reset(
    session: SessionDep, redis: RedisDep, posts: Posts = DEFAULT_POSTS
) -> dict[str, int]:
    """Forget every cached dashboard, then cache the working set's as the decorated route
    would: each load segment starts from the same warm cache, as a running app's would be."""
    keys = [key async for key in redis.scan_iter(match=f"{KEY_SPACE}:*", count=SCAN_COUNT)]
    if keys:
        await or_fallback(redis.unlink(*keys), 0)
    template = router.prefix + "/decorated-cache"
    dashboards = await dashboards_of(session, list(range(1, WORKING_SET + 1)), posts)
    pipe = redis.pipeline(transaction=False)
    for user_id, dashboard in dashboards.items():
        entry = entry_key(template, [("posts", str(posts))], caller(user_id))
        ttl_ms = round(TTL_BY_ROLE[caller(user_id).role] * 1000)
        pipe.set(entry, dashboard.model_dump_json().encode(), px=ttl_ms)
    await or_fallback(pipe.execute(), [])
    return {"forgotten": len(keys), "cached": len(dashboards)}


TECHNIQUE = Technique(
    key="route_cache",
    area="caching",
    title="Route cache by decorator: computed every time vs cached per user, TTL by role",
    summary=(
        "A per-user page (here a dashboard: 3 queries) asked for again and again is worth "
        "caching, but its URL is the same for every user: the cache key must hold the "
        "caller. A decorator on the route (the guide's SmartCacheInterceptor) keeps each "
        "caller's successful answers in Redis for as long as their role allows, never an "
        "error, and lets a request skip it with Cache-Control: no-cache. The workload is "
        "a working set of users of every role asking for their own dashboards."
    ),
    guide_section="Caching Strategies / Smart Caching Interceptor",
    router=router,
    variants=("no_cache", "decorated_cache"),
    baseline="no_cache",
    params={"posts": DEFAULT_POSTS},
    proof=(
        "queries per request: 3 -> 0 on a hit (3 and a Redis GET and SET on a miss, once "
        "per user and TTL); cache hit rate metered"
    ),
    caveats=(
        "The hit rate is the workload's: a working set of 40 users asking in turn, their "
        "entries cached before each segment (a running app's steady state) and kept longer "
        "than a segment lasts, so every measured request is a hit. In a real app each user "
        "misses once per TTL of their role, and each miss costs the 3 queries plus a Redis "
        "GET and SET: more users or shorter TTLs mean a lower hit rate. A cached dashboard "
        "may be up to its TTL old: a user who has just posted sends Cache-Control: no-cache "
        "to see it."
    ),
    scenario="scenarios.route_cache",
    reset_path="/route-cache/reset",
    request_headers=principal_headers(1, Role.MEMBER),
    # The leak a per-user cache must not have: the next caller served the last one's page.
    effects=(
        CallersInTurn(
            callers=[principal_headers(user_id, caller(user_id).role) for user_id in range(2, 7)]
        ),
    ),
)
