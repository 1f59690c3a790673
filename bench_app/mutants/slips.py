"""Slips a body alone does not show: a skipped effect, a shared flight or cache entry, a
fallback or an error where none was due. Each is a technique's optimized variant with one
line of it wrong, the way a real change gets it wrong; the lessons keep the right line.
"""

import asyncio
import gzip
import uuid
from functools import partial

import aiohttp
from fastapi import HTTPException, Request, Response

from bench_app.asyncpg_copy import asyncpg_connection, metered_as_one_statement
from bench_app.cache_fallback import or_fallback
from bench_app.csv_records import streamed_lines
from bench_app.db import SessionDep, SessionsDep
from bench_app.get_or_set import cached_bytes, get_or_set, store_bytes
from bench_app.principal import PrincipalDep
from bench_app.redis_client import RedisDep
from bench_app.redis_lock_flight import recheck_then_compute
from bench_app.responses import json_response
from bench_app.retry_budget import full_jitter_s
from bench_app.route_cache import KEY_SPACE as ROUTE_CACHE_KEYS
from bench_app.stampede_flights import FlightsDep as StampedeFlightsDep
from bench_app.techniques import (
    background_jobs,
    bulk_insert,
    cache_aside,
    compression,
    conditional_get,
    csv_import,
    invalidation,
    request_coalescing,
    retries,
    route_cache,
    stampede,
    upstream_timeouts,
)
from bench_app.upstream_client import UpstreamDep, UpstreamItem, fetch_item, fetch_unless_refused


async def tag_set(
    redis: RedisDep, user_id: invalidation.UserId = invalidation.DEFAULT_USER_ID
) -> invalidation.Invalidated:
    """tag_set that reads the tag but forgot the UNLINK: it answers as if it had."""
    await or_fallback(redis.smembers(invalidation.tag_key(user_id)), None)
    return invalidation.Invalidated(user_id=user_id, invalidated=True)


async def enqueued(
    response: Response, item: background_jobs.ItemId = background_jobs.DEFAULT_ITEM
) -> background_jobs.Accepted:
    """enqueued that names a job it never enqueued (the enqueue lost in a refactor)."""
    background_jobs.located(response, uuid.uuid4().hex)
    return background_jobs.Accepted(item=item)


async def copy(
    session: SessionDep, rows: bulk_insert.RowCount = bulk_insert.DEFAULT_ROWS
) -> bulk_insert.BatchReceipt:
    """copy with an off-by-one: the batch's last line is never sent."""
    batch = uuid.uuid4()
    lines = bulk_insert.order_lines(batch, rows)[:-1]
    records = [tuple(line[name] for name in bulk_insert.COLUMNS) for line in lines]
    driver = await asyncpg_connection(session)
    with metered_as_one_statement():
        await driver.copy_records_to_table(
            bulk_insert.LINES.name,
            records=records,
            columns=bulk_insert.COLUMNS,
            schema_name=bulk_insert.LINES.schema,
        )
    return await bulk_insert.remove_batch(session, batch)


async def two_level(
    session: SessionDep,
    redis: RedisDep,
    local: cache_aside.LocalCacheDep,
    days: cache_aside.Days = cache_aside.DEFAULT_DAYS,
    limit: cache_aside.Limit = cache_aside.DEFAULT_LIMIT,
) -> Response:
    """two_level whose in-process key forgot `limit`: callers share another's entry."""
    local_key = cache_aside.top_authors_key(days, 0)
    body = local.get(local_key)
    if body is not None:
        return json_response(body)
    compute = partial(cache_aside.top_authors_json, session, days, limit)
    body = await get_or_set(
        redis, cache_aside.top_authors_key(days, limit), cache_aside.REDIS_TTL_S, compute
    )
    local.set(local_key, body)
    return json_response(body)


async def gzip_level6(
    session: SessionDep, posts: compression.PostCount = compression.DEFAULT_POSTS
) -> Response:
    """gzip level 6 sent whatever the client accepts (Accept-Encoding never read)."""
    body = gzip.compress(await compression.page_of_posts(session, posts), compresslevel=6)
    return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip"})


async def etag_cached(
    session: SessionDep,
    redis: RedisDep,
    user_id: conditional_get.UserId = conditional_get.DEFAULT_USER_ID,
    if_none_match: conditional_get.IfNoneMatch = None,
) -> Response:
    """etag_cached that answers 304 to any If-None-Match, without comparing the tags."""
    tag, body = await conditional_get.cached_representation(session, redis, user_id)
    if if_none_match:
        return conditional_get.not_modified(tag)
    return conditional_get.full_response(body, tag)


async def streaming(
    request: Request, session: SessionDep, _: csv_import.SizedUpload
) -> csv_import.ImportReceipt:
    """streaming whose batch flush has an off-by-one: each COPY leaves out its last row."""
    import_id = uuid.uuid4()
    driver = await asyncpg_connection(session)
    next_line = 1
    async with driver.transaction():
        batch: list[csv_import.PaymentRecord] = []
        async for lines in streamed_lines(request.stream()):
            for record in csv_import.payments(import_id, lines, next_line):
                batch.append(record)
                if len(batch) == csv_import.ROWS_PER_COPY:
                    await csv_import.copy_batch(driver, batch[:-1])
                    batch = []
            next_line += len(lines)
        if batch:
            await csv_import.copy_batch(driver, batch[:-1])
    return await csv_import.stored(session, import_id)


async def coalesced(
    upstream: UpstreamDep,
    flights: request_coalescing.FlightsDep,
    item: request_coalescing.ItemId = request_coalescing.DEFAULT_ITEM,
) -> UpstreamItem:
    """coalesced keyed by the route, not the item: callers of other items share a flight."""
    return await flights.do("item", partial(fetch_item, upstream, item))


async def single_flight(
    sessions: SessionsDep,
    redis: RedisDep,
    flights: StampedeFlightsDep,
    top: stampede.Top = stampede.DEFAULT_TOP,
) -> Response:
    """single_flight whose flight key forgot `top`: misses for other tops share one flight."""
    key = stampede.report_key(top)
    body = await cached_bytes(redis, key)
    if body is None:
        compute = partial(stampede.most_discussed_json, sessions, top)
        body = await flights.in_process.do(
            stampede.KEY_SPACE, partial(recheck_then_compute, redis, key, compute, stampede.TTL_S)
        )
    return json_response(body)


# The deadline written in milliseconds where the client takes seconds: every call times out.
TOO_SHORT = aiohttp.ClientTimeout(total=upstream_timeouts.DEADLINE_S / 1000)


async def deadline_fallback(
    upstream: upstream_timeouts.PooledUpstreamDep,
    item: upstream_timeouts.ItemId = upstream_timeouts.DEFAULT_ITEM,
) -> upstream_timeouts.ItemOrFallback:
    """deadline_fallback with its deadline a thousand times too short: the fallback for all."""
    try:
        found = await fetch_item(upstream, item, upstream_timeouts.ROUTE, timeout=TOO_SHORT)
    except HTTPException:
        return upstream_timeouts.ItemOrFallback(key=str(item), value=None, degraded=True)
    return upstream_timeouts.ItemOrFallback(key=found.key, value=found.value, degraded=False)


async def decorated_cache(
    request: Request,
    session: SessionDep,
    redis: RedisDep,
    caller: PrincipalDep,
    posts: route_cache.Posts = route_cache.DEFAULT_POSTS,
) -> Response:
    """decorated_cache whose key is the URL alone, the caller left out: everyone asking the
    URL after the first caller gets the first caller's dashboard from the shared cache."""
    key = f"{ROUTE_CACHE_KEYS}:{request.url.path}?{request.url.query}"
    hit = await cached_bytes(redis, key)
    if hit is not None:
        return json_response(hit)
    answer = await route_cache.dashboard_of(session, caller.user_id, posts)
    body = answer.model_dump_json().encode()
    await store_bytes(redis, key, body, route_cache.TTL_BY_ROLE[caller.role])
    return json_response(body)


async def backoff_with_budget(
    upstream: UpstreamDep,
    budget: retries.RetryBudgetDep,
    item: retries.ItemId = retries.DEFAULT_ITEM,
) -> UpstreamItem:
    """backoff_with_budget with `break` where it meant `return found`: the upstream's answer
    falls through to the overloaded 503, an error where none was due."""
    budget.deposit()
    for attempt in range(1, retries.ATTEMPTS + 1):
        found = await fetch_unless_refused(upstream, item, retries.ROUTE)
        if found is not None:
            break
        if attempt == retries.ATTEMPTS or not budget.withdraw():
            break
        await asyncio.sleep(full_jitter_s(attempt, retries.BACKOFF_BASE_S, retries.BACKOFF_CAP_S))
    raise retries.overloaded()
