"""The app's HTTP clients for the upstream service, metered: calls and connections per request.

Every outbound request counts as an upstream call of the request being served, and every
TCP connection opened for it as an upstream connection (the clients' own tracing hooks
report both), so "a client per call opens a connection per call" is a count on each
response, not an inference from timings. So is a call the upstream took SLOW_CALL_S or
longer to answer once it had a connection (the time it queued for one left out): a stall
waited out (upstream_timeouts' naive variant), which holds its pooled connection all along.

The async client is aiohttp's, not httpx's. Measured against the stub
(scenarios/http_client_cost.py measures both on your machine), httpx.AsyncClient spent
several times aiohttp's CPU per call, and more the more calls were in flight (its pool,
sized 160 here, scans its connections and queue on every request), where aiohttp's stayed
flat. On two cores that CPU is the app's capacity: with httpx, the concurrent fan-out
variants came out slower than the sequential one, measuring the client instead of the
technique. httpx stays for the synchronous client, where a blocking
call is the point (event_loop_blocking).
"""

import time
from types import SimpleNamespace
from typing import Annotated, Any

import aiohttp
import httpx
from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, TypeAdapter

from bench_app.metering import current_cost
from bench_app.settings import Settings

# Far above the stub's latency, so only a dead upstream trips it; the upstream_timeouts
# technique sets its own tight one where that is the point.
DEFAULT_TIMEOUT_S = 30.0
# Idle pooled connections are closed after this long; longer than the pauses between
# load segments, so a warmed pool stays warm (the stub keeps them 75 s).
KEEPALIVE_S = 60.0
# Five times upstream_timeouts' deadline and half its stub's stall: no call that a deadline
# bounds, or that the stub answers at its usual ~10 ms, takes this long on a loaded machine.
SLOW_CALL_S = 0.5
CONNECT_COMPLETE = "connection.connect_tcp.complete"  # httpcore's trace event for a new connection


async def _count_call(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: Any
) -> None:
    cost = current_cost()
    if cost is not None:
        cost.upstream_calls += 1
        context.started, context.queued = time.perf_counter(), 0.0


async def _queued(session: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
    context.queued_at = time.perf_counter()


async def _dequeued(session: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
    if hasattr(context, "queued"):
        context.queued += time.perf_counter() - context.queued_at


async def _count_slow_call(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: Any
) -> None:
    """At the answer's headers: a call the upstream took SLOW_CALL_S or longer to answer, its
    wait for a pooled connection left out, counts as slow (one a deadline cut off never gets
    here). How long other calls queued behind it depends on how the stalls overlap."""
    cost = current_cost()
    started = getattr(context, "started", None)
    if cost is None or started is None:
        return
    if time.perf_counter() - started - context.queued >= SLOW_CALL_S:
        cost.upstream_slow_calls += 1


async def _count_connection(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: Any
) -> None:
    cost = current_cost()
    if cost is not None:
        cost.upstream_connections += 1


def metered() -> list[aiohttp.TraceConfig]:
    """Trace configs that meter a session's calls and new connections (aiohttp's hooks run in
    the calling task, so they reach the cost record of the request being served)."""
    config = aiohttp.TraceConfig()
    config.on_request_start.append(_count_call)
    config.on_connection_queued_start.append(_queued)
    config.on_connection_queued_end.append(_dequeued)
    config.on_request_end.append(_count_slow_call)
    config.on_connection_create_end.append(_count_connection)
    return [config]


def make_upstream_client(
    settings: Settings, max_connections: int | None = None
) -> aiohttp.ClientSession:
    """The shared, metered client (its base URL set), pooled: its pool holds every call in
    flight at once (settings.upstream_max_connections, unless `max_connections` bounds it);
    the caller closes it."""
    limit = max_connections or settings.upstream_max_connections
    connector = aiohttp.TCPConnector(
        limit=limit,
        limit_per_host=limit,
        keepalive_timeout=KEEPALIVE_S,
    )
    return aiohttp.ClientSession(
        settings.upstream_url,
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=DEFAULT_TIMEOUT_S),
        trace_configs=metered(),
    )


def _count_call_blocking(request: httpx.Request) -> None:
    cost = current_cost()
    if cost is None:
        return
    cost.upstream_calls += 1

    def trace(event: str, info: dict[str, Any]) -> None:
        if event == CONNECT_COMPLETE:
            cost.upstream_connections += 1

    request.extensions["trace"] = trace  # httpcore reports each new connection to it


def make_blocking_upstream_client(settings: Settings) -> httpx.Client:
    """A metered synchronous client: each call blocks the calling thread until it answers."""
    size = settings.upstream_max_connections
    return httpx.Client(
        base_url=settings.upstream_url,
        limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
        timeout=DEFAULT_TIMEOUT_S,
        event_hooks={"request": [_count_call_blocking]},
    )


class UpstreamItem(BaseModel):
    """What the upstream service knows about an item."""

    key: str
    value: int


UPSTREAM_BATCH = TypeAdapter(list[UpstreamItem])

UPSTREAM_ERRORS: dict[int | str, dict[str, Any]] = {
    502: {"description": "The upstream service failed or could not be reached."}
}


async def fetch_item(
    client: aiohttp.ClientSession,
    item: int,
    route: str = "",
    params: dict[str, str] | None = None,
    timeout: aiohttp.ClientTimeout | None = None,
) -> UpstreamItem:
    """GET `{route}/items/{item}` from the upstream; a failure there is our 502."""
    try:
        async with client.get(
            f"{route}/items/{item}", params=params, timeout=timeout or client.timeout
        ) as response:
            return item_from(response.status, await response.read())
    except (aiohttp.ClientError, TimeoutError) as error:
        raise HTTPException(502, f"upstream unreachable: {type(error).__name__}") from None


async def fetch_unless_refused(
    client: aiohttp.ClientSession, item: int, route: str
) -> UpstreamItem | None:
    """GET `{route}/items/{item}`: the record, or None when the upstream refused the call as
    overloaded (503, worth another try later); any other failure is our 502."""
    try:
        async with client.get(f"{route}/items/{item}") as response:
            body = await response.read()  # read in full, so the connection goes back to the pool
            return None if response.status == 503 else item_from(response.status, body)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise HTTPException(502, f"upstream unreachable: {type(error).__name__}") from None


async def fetch_items(client: aiohttp.ClientSession, items: list[int]) -> list[UpstreamItem]:
    """GET the upstream's records of `items`, in order, in one batch call; a failure is our 502."""
    try:
        keys = ",".join(map(str, items))
        async with client.get("/batch/items", params={"keys": keys}) as response:
            if response.status != 200:
                raise HTTPException(502, f"upstream answered {response.status}")
            return UPSTREAM_BATCH.validate_json(await response.read())
    except (aiohttp.ClientError, TimeoutError) as error:
        raise HTTPException(502, f"upstream unreachable: {type(error).__name__}") from None


def item_from(status: int, body: bytes) -> UpstreamItem:
    if status != 200:
        raise HTTPException(502, f"upstream answered {status}")
    return UpstreamItem.model_validate_json(body)


def get_upstream(request: Request) -> aiohttp.ClientSession:
    """FastAPI dependency: the app's shared upstream client."""
    client: aiohttp.ClientSession = request.app.state.upstream
    return client


def get_settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


UpstreamDep = Annotated[aiohttp.ClientSession, Depends(get_upstream)]
SettingsDep = Annotated[Settings, Depends(get_settings_of)]
