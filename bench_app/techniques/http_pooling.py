"""Outbound HTTP: a new client per call vs one shared, pooled client.

Contract: the upstream service's record of `item` (its key and value). Every request
makes one call to the upstream. A client made for one call opens a TCP connection for
it (and builds its TLS context and pool) and throws both away; a client shared for the
app's lifetime keeps connections open and reuses them, call after call.
"""

from typing import Annotated

import httpx
from fastapi import APIRouter, Query

from bench_app.technique import Technique
from bench_app.upstream_client import (
    METERED,
    UPSTREAM_ERRORS,
    SettingsDep,
    UpstreamDep,
    UpstreamItem,
    fetch_item,
)

router = APIRouter(prefix="/http-pooling", tags=["http_pooling"], responses=UPSTREAM_ERRORS)

DEFAULT_ITEM = 1

ItemId = Annotated[int, Query(ge=1, le=1_000_000, description="The item to look up upstream.")]


@router.get("/client-per-call", response_model=UpstreamItem)
async def client_per_call(settings: SettingsDep, item: ItemId = DEFAULT_ITEM) -> UpstreamItem:
    """A new client for each call: a new TCP connection (and client set-up) per request."""
    async with httpx.AsyncClient(base_url=settings.upstream_url, event_hooks=METERED) as client:
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
        "Creating an HTTP client for each outbound call (`async with httpx.AsyncClient()` "
        "inside the handler) pays for a new TCP connection every time, plus the client's "
        "own set-up (its SSL context, loaded even for plain HTTP), then closes both. One "
        "client made in the app's lifespan, its pool sized to the calls in flight at once, "
        "keeps connections alive and reuses them. The upstream is a stub server in its own "
        "process answering after a set latency; it counts the connections it accepts."
    ),
    guide_section="HTTP Client Best Practices / Connection Pooling",
    router=router,
    variants=("client_per_call", "shared_client"),
    baseline="client_per_call",
    params={"item": DEFAULT_ITEM},
    proof="upstream connections opened per request: 1 -> 0",
    caveats=(
        "On loopback a TCP handshake costs tens of microseconds; across a network it is a "
        "round trip, and with TLS two or three more, so the gap here is the least it will "
        "be. The shared client's pool must hold every call in flight at once: too small, and "
        "requests queue for a connection inside the client instead."
    ),
)
