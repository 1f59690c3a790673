"""The cost meter: every response carries its own request's costs, and only those."""

import asyncio

import httpx

from bench_app.metering import COST_HEADERS


async def test_every_response_carries_the_cost_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    for header in COST_HEADERS.values():
        assert header in response.headers
    assert response.headers["x-queries"] == "1"
    assert response.headers["server-timing"].startswith("db;dur=")


async def test_concurrent_requests_are_metered_separately(client: httpx.AsyncClient) -> None:
    sizes = [3, 9, 1, 14, 6]
    responses = await asyncio.gather(
        *(client.get(f"/n-plus-one/naive?authors={size}") for size in sizes)
    )
    assert [int(r.headers["x-queries"]) for r in responses] == [size + 1 for size in sizes]


async def test_errors_are_metered_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/n-plus-one/naive?authors=0")
    assert response.status_code == 422
    assert response.headers["x-queries"] == "0"
