"""The app's HTTP clients for the upstream service, metered: calls and connections per request.

Every outbound request counts as an upstream call of the request being served, and every
TCP connection opened for it as an upstream connection (httpcore's `trace` extension
reports the connect). Both land in the cost meter, so "a client per call opens a
connection per call" is a count on each response, not an inference from timings.
"""

from typing import Annotated, Any

import httpx
from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel

from bench_app.metering import RequestCost, current_cost
from bench_app.settings import Settings

# Far above the stub's latency, so only a dead upstream trips it; the upstream_timeouts
# technique sets its own tight one where that is the point.
DEFAULT_TIMEOUT_S = 30.0
# Idle pooled connections are closed after this long; longer than the pauses between
# load segments, so a warmed pool stays warm.
KEEPALIVE_EXPIRY_S = 60.0
CONNECT_COMPLETE = "connection.connect_tcp.complete"  # httpcore's trace event for a new connection


async def _count_call(request: httpx.Request) -> None:
    cost = current_cost()
    if cost is None:
        return
    cost.upstream_calls += 1

    async def trace(event: str, info: dict[str, Any]) -> None:
        if event == CONNECT_COMPLETE:
            _count_connection(cost)

    request.extensions["trace"] = trace


def _count_call_sync(request: httpx.Request) -> None:
    cost = current_cost()
    if cost is None:
        return
    cost.upstream_calls += 1

    def trace(event: str, info: dict[str, Any]) -> None:
        if event == CONNECT_COMPLETE:
            _count_connection(cost)

    request.extensions["trace"] = trace


def _count_connection(cost: RequestCost) -> None:
    cost.upstream_connections += 1


# Event hooks that meter a client's calls; every client the app makes to the upstream has them.
METERED = {"request": [_count_call]}
METERED_BLOCKING = {"request": [_count_call_sync]}


def upstream_limits(settings: Settings) -> httpx.Limits:
    """Pool limits sized to the concurrency: every call in flight at once keeps a connection."""
    size = settings.upstream_max_connections
    return httpx.Limits(
        max_connections=size, max_keepalive_connections=size, keepalive_expiry=KEEPALIVE_EXPIRY_S
    )


def make_upstream_client(
    settings: Settings,
    limits: httpx.Limits | None = None,
    timeout: httpx.Timeout | float | None = DEFAULT_TIMEOUT_S,
) -> httpx.AsyncClient:
    """A metered async client for the upstream (its base URL set); the caller closes it."""
    return httpx.AsyncClient(
        base_url=settings.upstream_url,
        limits=limits or upstream_limits(settings),
        timeout=timeout,
        event_hooks=METERED,
    )


def make_blocking_upstream_client(settings: Settings) -> httpx.Client:
    """A metered synchronous client: each call blocks the calling thread until it answers."""
    return httpx.Client(
        base_url=settings.upstream_url,
        limits=upstream_limits(settings),
        timeout=DEFAULT_TIMEOUT_S,
        event_hooks=METERED_BLOCKING,
    )


class UpstreamItem(BaseModel):
    """What the upstream service knows about an item."""

    key: str
    value: int


UPSTREAM_ERRORS: dict[int | str, dict[str, Any]] = {
    502: {"description": "The upstream service failed or could not be reached."}
}


async def fetch_item(client: httpx.AsyncClient, item: int, route: str = "") -> UpstreamItem:
    """GET `{route}/items/{item}` from the upstream; a failure there is our 502."""
    try:
        response = await client.get(f"{route}/items/{item}")
    except httpx.HTTPError as error:
        raise HTTPException(502, f"upstream unreachable: {type(error).__name__}") from None
    return item_from(response)


def item_from(response: httpx.Response) -> UpstreamItem:
    if response.status_code != 200:
        raise HTTPException(502, f"upstream answered {response.status_code}")
    return UpstreamItem.model_validate_json(response.content)


def get_upstream(request: Request) -> httpx.AsyncClient:
    """FastAPI dependency: the app's shared upstream client."""
    client: httpx.AsyncClient = request.app.state.upstream
    return client


def get_settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


UpstreamDep = Annotated[httpx.AsyncClient, Depends(get_upstream)]
SettingsDep = Annotated[Settings, Depends(get_settings_of)]
