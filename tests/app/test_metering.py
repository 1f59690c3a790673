"""The cost meter: every response carries its own request's costs, and only those."""

import asyncio
from decimal import Decimal

import httpx

from bench_app.metering import COST_HEADERS, result_bytes


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


def test_result_bytes_sizes_rows_as_postgresql_sends_them() -> None:
    description = [("id", 20), ("name", 25), ("blob", 17), ("price", 1700)]  # type OIDs:
    # int8, text, bytea and numeric (no binary width known: counted by its text form)
    rows = [(1, "é", b"xy", Decimal("1.50")), (None, None, None, None)]
    headers = len(rows) * (7 + 4 * len(description))  # DataRow header + a length per value
    values = 8 + len("é".encode()) + 2 + len("1.50")  # NULLs send no bytes; numeric as text
    assert result_bytes(description, rows) == headers + values
    assert result_bytes(description, []) == 0
