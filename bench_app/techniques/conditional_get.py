"""Conditional GET: always the full body vs ETag + If-None-Match -> 304, built or cached.

Contract: user `user_id`'s public profile with all their posts (id, title, body,
created_at), in post id order; 404 if there is no such user. A browser that keeps a
representation's ETag sends it back in If-None-Match; when it still matches, the
answer is 304 Not Modified with no body, and the browser reuses its copy.

A 304 saves the bytes on the wire. Whether it also saves the server's work depends on
where the ETag comes from: hashing the freshly built body saves nothing but bytes;
an ETag cached with the representation lets a 304 skip the database entirely.
"""

import hashlib
import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bench_app.cache_fallback import or_fallback
from bench_app.db import SessionDep
from bench_app.effects import ConcurrentCallers, Revalidates
from bench_app.models import MAX_ID, User
from bench_app.redis_client import RedisDep, cache_key
from bench_app.redis_metering import count_cache_lookups
from bench_app.responses import NOT_MODIFIED, REDIS_UNAVAILABLE, not_found
from bench_app.technique import Technique

router = APIRouter(prefix="/conditional-get", tags=["conditional_get"])

DEFAULT_USER_ID = 1

# Twice the longest load segment (about 30 s), counted from the reset that caches the
# representation before each segment: it never expires inside one, so every measured
# request of etag_cached finds it and its costs per request are exact.
TTL_S = 60.0
KEY_SPACE = cache_key("conditional_get")
# Store it, but ask again each time: every reuse is a conditional request.
CACHE_CONTROL = "no-cache"
ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"')

UserId = Annotated[int, Query(ge=1, le=MAX_ID, description="Whose profile to show.")]
NO_SUCH_USER = not_found("no user has that id")
IfNoneMatch = Annotated[str | None, Header(description="ETags of the copies the client holds.")]


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    body: str
    created_at: datetime


class ProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    first_name: str
    last_name: str
    bio: str
    posts: list[PostOut]


async def profile_json(session: AsyncSession, user_id: int) -> bytes:
    """The representation: the user and their posts (two queries), as JSON bytes; 404 if none."""
    query = select(User).options(selectinload(User.posts)).where(User.id == user_id)
    user = await session.scalar(query)
    if user is None:
        raise HTTPException(status_code=404, detail=f"no user with id {user_id}")
    return ProfileOut.model_validate(user).model_dump_json().encode()


def strong_etag(body: bytes) -> str:
    """A strong ETag: a hash of the exact bytes, so equal tags mean byte-identical bodies."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def still_fresh(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match names `etag` (RFC 9110 13.1.2: weak comparison, or "*")."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    held = {tag.removeprefix("W/") for tag in ENTITY_TAG.findall(if_none_match)}
    return etag.removeprefix("W/") in held


def full_response(body: bytes, etag: str | None = None) -> Response:
    headers = {} if etag is None else {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    return Response(content=body, media_type="application/json", headers=headers)


def not_modified(etag: str) -> Response:
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})


@router.get("/full", response_model=ProfileOut, responses=NO_SUCH_USER)
async def full(session: SessionDep, user_id: UserId = DEFAULT_USER_ID) -> Response:
    """Always 200 with the whole body: no validator, so every reuse downloads it again."""
    return full_response(await profile_json(session, user_id))


@router.get("/etag", response_model=ProfileOut, responses=NO_SUCH_USER | NOT_MODIFIED)
async def etag(
    session: SessionDep, user_id: UserId = DEFAULT_USER_ID, if_none_match: IfNoneMatch = None
) -> Response:
    """Build the body, hash it into an ETag, and answer 304 if the client holds that one."""
    body = await profile_json(session, user_id)
    tag = strong_etag(body)
    return not_modified(tag) if still_fresh(if_none_match, tag) else full_response(body, tag)


def as_text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def representation_key(user_id: int) -> str:
    return f"{KEY_SPACE}:profile:{user_id}"


async def cached_representation(
    session: AsyncSession, redis: Redis, user_id: int
) -> tuple[str, bytes]:
    """(ETag, body) from Redis, else built, hashed and cached with its ETag in one hash."""
    key = representation_key(user_id)
    cached = await or_fallback(redis.hmget(key, ["etag", "body"]), None)
    if cached is not None and cached[0] is not None and cached[1] is not None:
        count_cache_lookups(hits=1)
        return as_text(cached[0]), as_bytes(cached[1])
    count_cache_lookups(misses=1)
    body = await profile_json(session, user_id)
    tag = strong_etag(body)
    pipe = redis.pipeline(transaction=True)
    pipe.hset(key, mapping={"etag": tag, "body": body})
    pipe.pexpire(key, round(TTL_S * 1000))
    await or_fallback(pipe.execute(), [])
    return tag, body


@router.get("/etag-cached", response_model=ProfileOut, responses=NO_SUCH_USER | NOT_MODIFIED)
async def etag_cached(
    session: SessionDep,
    redis: RedisDep,
    user_id: UserId = DEFAULT_USER_ID,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Keep the ETag with the cached body: a match is one small Redis read, no query."""
    if if_none_match is not None:
        held = await or_fallback(redis.hget(representation_key(user_id), "etag"), None)
        if held is not None and still_fresh(if_none_match, as_text(held)):
            count_cache_lookups(hits=1)
            return not_modified(as_text(held))
    tag, body = await cached_representation(session, redis, user_id)
    return not_modified(tag) if still_fresh(if_none_match, tag) else full_response(body, tag)


@router.post("/reset", responses=NO_SUCH_USER | REDIS_UNAVAILABLE)
async def reset(
    session: SessionDep, redis: RedisDep, user_id: UserId = DEFAULT_USER_ID
) -> dict[str, int]:
    """Drop the cached representations, then cache this user's afresh (with a fresh TTL).

    The harness posts the point's parameters before each load segment, so each segment
    starts alike and warm: no query inside it, and no TTL runs out in it (see TTL_S).
    """
    keys = [key async for key in redis.scan_iter(match=f"{KEY_SPACE}:*", count=1000)]
    dropped = await redis.unlink(*keys) if keys else 0
    await cached_representation(session, redis, user_id)
    return {"dropped": dropped, "cached": 1}


TECHNIQUE = Technique(
    key="conditional_get",
    area="caching",
    title="Conditional GET: full 200 always vs ETag + If-None-Match -> 304",
    summary=(
        "A client that already holds a representation needs only to hear that it is still "
        "current. With an ETag on each response, a browser sends it back in If-None-Match "
        "and a match is answered 304 Not Modified, with no body. Hashing the freshly built "
        "body into the ETag saves only the bytes on the wire: the server still queries and "
        "serializes, so on loopback it is hardly faster. Keeping the ETag next to a cached "
        "copy of the body lets a 304 skip the database too. The load user keeps each "
        "ETag it receives and sends it back, as a browser does."
    ),
    guide_section=None,  # the guide has no section on it
    router=router,
    variants=("full", "etag", "etag_cached"),
    baseline="full",
    scenario="scenarios.conditional_get",
    params={"user_id": DEFAULT_USER_ID},
    proof=(
        "bytes per request: the whole body -> ~0 (304s) -> ~0; "
        "queries per request: 2 -> 2 -> 0; Redis commands: 0 -> 0 -> 1"
    ),
    reset_path="/conditional-get/reset",
    effects=(Revalidates(), ConcurrentCallers(vary={"user_id": [1, 2, 3, 4]})),
)
