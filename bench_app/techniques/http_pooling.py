"""Outbound HTTP: a new client per call vs one shared, pooled client.

Contract: the upstream service's record of `item` (its key and value). Every request
makes one call to the upstream. A client made for one call opens a TCP connection for
it (and builds its TLS context and pool) and throws both away; a client shared for the
app's lifetime keeps connections open and reuses them, call after call.
"""

from typing import Annotated

import aiohttp
from fastapi import APIRouter, Query

from bench_app.technique import Technique
from bench_app.upstream_client import (
    UPSTREAM_ERRORS,
    SettingsDep,
    UpstreamDep,
    UpstreamItem,
    fetch_item,
    metered,
)

router = APIRouter(prefix="/http-pooling", tags=["http_pooling"], responses=UPSTREAM_ERRORS)

DEFAULT_ITEM = 1

ItemId = Annotated[int, Query(ge=1, le=1_000_000, description="The item to look up upstream.")]


@router.get("/client-per-call", response_model=UpstreamItem)
async def client_per_call(settings: SettingsDep, item: ItemId = DEFAULT_ITEM) -> UpstreamItem:
    """A new client for each call: a new TCP connection (and client set-up) per request."""
    async with aiohttp.ClientSession(settings.upstream_url, trace_configs=metered()) as client:
        return await fetch_item(client, item)


@router.get("/shared-client", response_model=UpstreamItem)
async def shared_client(upstream: UpstreamDep, item: ItemId = DEFAULT_ITEM) -> UpstreamItem:
    """The app's one client, made at start-up: calls reuse its pooled keep-alive connections."""
    return await fetch_item(upstream, item)


TECHNIQUE = Technique(
    key="http_pooling",
    area="outbound",
    title="HTTP client per call vs one shared, pooled client",
    summary=(
        "Creating an HTTP client for each outbound call (`async with aiohttp.ClientSession()` "
        "or `httpx.AsyncClient()` inside the handler) opens a new TCP connection every time "
        "(with TLS, a handshake more) and throws it away with the client. One client made in "
        "the app's lifespan, its pool sized to the calls in flight at once (160 here), keeps "
        "connections alive and reuses them. The upstream is a stub server in its own process "
        "answering after 10 ms; it counts the connections it accepts."
    ),
    guide_section="HTTP Request Optimization / Connection Pooling and Request Optimization",
    router=router,
    variants=("client_per_call", "shared_client"),
    baseline="client_per_call",
    params={"item": DEFAULT_ITEM},
    proof="upstream connections opened per request: 1 -> 0",
    caveats=(
        "On loopback a TCP handshake costs tens of microseconds; across a network it is a "
        "round trip, and with TLS one or two more, so the gap here is the least it will be. "
        "Some clients cost more to build than the connection: httpx.AsyncClient() creates an "
        "SSL context and loads the CA bundle even for plain HTTP (tens of milliseconds of "
        "CPU, which also blocks the event loop), so a client per call with httpx is far "
        "slower than this aiohttp one. The shared client's pool must hold every call in "
        "flight at once: too small, and requests queue for a connection inside the client."
    ),
)
