"""The middleware a user installs in their own app: each response's `x-cost` header counts
its SQL statements and Redis commands, on real PostgreSQL and Redis."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench_app.metering import parse_cost_header
from pairbench.env.services import ServiceUrls
from pairbench.metering import COST_HEADER, CostHeaderMiddleware, MeteredRedis, meter_engine


def users_app(engine: AsyncEngine, redis: MeteredRedis) -> FastAPI:
    """An app as its user wrote it, plus the three lines that meter it."""
    app = FastAPI()
    app.add_middleware(CostHeaderMiddleware)
    meter_engine(engine)

    @app.get("/per-row")
    async def per_row(n: int) -> list[int]:
        async with engine.connect() as connection:
            return [(await connection.execute(text(f"SELECT {i}"))).scalar_one() for i in range(n)]

    @app.get("/one-query")
    async def one_query(n: int) -> list[int]:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT generate_series(0, :last)"), {"last": n - 1}
            )
            return list(rows.scalars())

    @app.get("/cached")
    async def cached() -> list[str | None]:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.set("pairbench:metering", "1").get("pairbench:metering")
            await pipe.execute()
        return [await redis.get("pairbench:metering")]

    return app


@pytest.fixture
async def client(service_urls: ServiceUrls) -> AsyncIterator[httpx.AsyncClient]:
    engine = create_async_engine(service_urls.database_url)
    redis = MeteredRedis.from_url(service_urls.redis_url, decode_responses=True)
    transport = httpx.ASGITransport(app=users_app(engine, redis))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client
    finally:
        await redis.aclose()
        await engine.dispose()


async def costs(client: httpx.AsyncClient, url: str) -> dict[str, str]:
    response = await client.get(url)
    assert response.status_code == 200
    return parse_cost_header(response.headers[COST_HEADER])


async def test_sql_statements_and_their_rows_are_counted_per_request(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/one-query?n=1")  # the pool's first connection: its set-up is not counted
    per_row, one = await costs(client, "/per-row?n=5"), await costs(client, "/one-query?n=5")
    assert (per_row["queries"], per_row["rows"]) == ("5", "5")
    assert (one["queries"], one["rows"]) == ("1", "5")
    assert float(per_row["db_ms"]) > 0 and per_row["redis_commands"] == "0"


async def test_redis_commands_and_round_trips_are_counted(client: httpx.AsyncClient) -> None:
    found = await costs(client, "/cached")
    assert (found["redis_commands"], found["redis_round_trips"]) == ("3", "2")
    assert found["queries"] == "0"
