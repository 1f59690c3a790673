"""The cost meter: every response carries its own request's costs, and only those."""

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from bench_app.main import create_app
from bench_app.metering import (
    COST_FIELDS,
    COST_HEADER,
    RequestCost,
    parse_cost_header,
    result_bytes,
)
from bench_app.settings import Settings
from bench_app.slow_queries import MAX_STATEMENTS_PER_ROUTE, SlowQueryLog
from tests.costs import costs_of


async def test_every_response_carries_its_cost(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    costs = costs_of(response)
    assert (costs["queries"], costs["rows"], costs["redis_commands"]) == ("1", "1", "0")
    assert float(costs["db_ms"]) > 0 and float(costs["app_ms"]) >= float(costs["db_ms"])
    assert costs["db_bytes"] == ""  # not counted on this route


async def test_concurrent_requests_are_metered_separately(client: httpx.AsyncClient) -> None:
    sizes = [3, 9, 1, 14, 6]
    responses = await asyncio.gather(
        *(client.get(f"/n-plus-one/naive?authors={size}") for size in sizes)
    )
    assert [int(costs_of(r)["queries"]) for r in responses] == [size + 1 for size in sizes]


async def test_errors_are_metered_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/n-plus-one/naive?authors=0")
    assert response.status_code == 422
    assert costs_of(response)["queries"] == "0"


def test_result_bytes_sizes_rows_as_postgresql_sends_them() -> None:
    description = [("id", 20), ("name", 25), ("blob", 17), ("price", 1700)]  # type OIDs:
    # int8, text, bytea and numeric (no binary width known: counted by its text form)
    rows = [(1, "é", b"xy", Decimal("1.50")), (None, None, None, None)]
    headers = len(rows) * (7 + 4 * len(description))  # DataRow header + a length per value
    values = 8 + len("é".encode()) + 2 + len("1.50")  # NULLs send no bytes; numeric as text
    assert result_bytes(description, rows) == headers + values
    assert result_bytes(description, []) == 0


def test_the_header_names_what_is_not_zero_and_parses_back() -> None:
    cost = RequestCost(queries=3, db_seconds=0.0015, rows=7, redis_commands=2, cache_hits=1)
    name, value = cost.header(app_seconds=0.004)
    assert name.decode() == COST_HEADER
    assert value == b"queries=3 db_ms=1.500 rows=7 redis_commands=2 cache_hits=1 app_ms=4.000"
    fields = parse_cost_header(value.decode())
    assert list(fields) == list(COST_FIELDS)
    assert fields["queries"] == "3" and fields["app_ms"] == "4.000"
    assert fields["cache_misses"] == "0"  # a count left out is zero
    assert fields["db_bytes"] == ""  # an optional field left out was not counted


def test_a_counted_zero_is_named_and_no_header_is_no_cost() -> None:
    cost = RequestCost(db_bytes=0, body_bytes=0, wire_bytes=0, encode_seconds=0.0)
    _, value = cost.header(app_seconds=0.001)
    assert value == b"db_bytes=0 body_bytes=0 wire_bytes=0 encode_ms=0.000 app_ms=1.000"
    assert parse_cost_header(value.decode())["db_bytes"] == "0"
    assert set(parse_cost_header(None).values()) == {""}


@pytest.fixture
async def slow_logging_app(seeded: Settings) -> AsyncIterator[FastAPI]:
    """The app with a slow-query threshold every statement passes."""
    app = create_app(seeded.model_copy(update={"slow_query_ms": 1e-6}))
    async with app.router.lifespan_context(app):
        yield app


async def test_slow_statements_are_logged_and_kept_by_route(
    slow_logging_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    transport = httpx.ASGITransport(app=slow_logging_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
        for authors in (2, 3):
            assert (await client.get(f"/n-plus-one/naive?authors={authors}")).status_code == 200
        log = (await client.get("/slow-queries")).json()
    assert log["threshold_ms"] == pytest.approx(1e-6)
    rows = [row for row in log["statements"] if row["route"] == "/n-plus-one/naive"]
    assert sum(row["count"] for row in rows) == (2 + 1) + (3 + 1)
    assert any("FROM pairbench.posts" in row["statement"] for row in rows)
    assert all(row["max_ms"] >= row["mean_ms"] > 0 for row in rows)
    assert any(
        "slow statement" in message and "/n-plus-one/naive" in message
        for message in caplog.messages
    )


def test_the_slow_query_log_keeps_the_slowest_few_per_route() -> None:
    log = SlowQueryLog(threshold_s=0.0)
    log.record_all("/r", [(f"SELECT {n}", n / 1000) for n in range(1, 31)])
    log.record_all("/r", [("SELECT 30", 0.010)])
    kept = {row["statement"]: row for row in log.rows()}
    assert len(kept) == MAX_STATEMENTS_PER_ROUTE
    assert min(row["max_ms"] for row in kept.values()) == pytest.approx(21.0)
    assert kept["SELECT 30"]["count"] == 2 and kept["SELECT 30"]["max_ms"] == pytest.approx(30.0)
