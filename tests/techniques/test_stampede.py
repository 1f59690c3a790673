"""stampede: the same answer everywhere; after an expiry, single-flight recomputes exactly once."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of
from tests.in_process import app_and_client

TECHNIQUE = all_techniques()["stampede"]
SINGLE_FLIGHT = ("single_flight", "single_flight_redis_lock")


async def expected_body(settings: Settings, top: int) -> list[dict[str, object]]:
    """The contract's answer, computed independently in plain SQL."""
    engine = make_engine(settings)
    schema = settings.db_schema
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT p.id, p.title, u.first_name || ' ' || u.last_name AS author,"
                    " count(c.id) AS comments"
                    f" FROM {schema}.posts p JOIN {schema}.users u ON u.id = p.author_id"
                    f" LEFT JOIN {schema}.comments c ON c.post_id = p.id"
                    " GROUP BY p.id, u.id ORDER BY comments DESC, p.id LIMIT :top"
                ),
                {"top": top},
            )
            return [dict(row) for row in rows.mappings()]
    finally:
        await engine.dispose()


async def expire(client: httpx.AsyncClient, top: int = 20) -> None:
    response = await client.post(f"/stampede/expire?top={top}")
    assert response.status_code == 200


async def burst(clients: list[httpx.AsyncClient], variant: str, size: int) -> int:
    """`size` concurrent requests spread over `clients`; the recomputations they caused."""
    url = TECHNIQUE.url(variant)
    responses = await asyncio.gather(*(clients[n % len(clients)].get(url) for n in range(size)))
    assert all(response.status_code == 200 for response in responses)
    bodies = {response.content for response in responses}
    assert len(bodies) == 1, "every request of a burst gets the same answer"
    return sum(int(costs_of(response)["queries"]) for response in responses)


@pytest.fixture
async def second_app(seeded: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Another app process, as far as single-flight can tell: its own task map and pool."""
    async with app_and_client(seeded) as (_, client):
        yield client


@pytest.mark.parametrize("top", [1, 20, 100])
async def test_every_variant_returns_the_contracts_answer(
    client: httpx.AsyncClient, seeded: Settings, top: int
) -> None:
    expected = await expected_body(seeded, top)
    assert len(expected) == top
    for variant in TECHNIQUE.variants:
        await expire(client, top)
        for _ in ("miss", "hit"):
            response = await client.get(TECHNIQUE.url(variant, {"top": top}))
            assert response.status_code == 200, response.text
            assert response.json() == expected, variant


@pytest.mark.parametrize("size", [8, 32])
async def test_single_flight_recomputes_exactly_once_per_burst(
    client: httpx.AsyncClient, size: int
) -> None:
    for variant in SINGLE_FLIGHT:
        for _ in range(3):
            await expire(client)
            assert await burst([client], variant, size) == 1, variant


async def test_every_miss_recomputes_without_it(client: httpx.AsyncClient) -> None:
    await expire(client)
    assert await burst([client], "every_miss_recomputes", 8) > 1


async def test_a_warm_key_recomputes_nothing(client: httpx.AsyncClient) -> None:
    await client.get(TECHNIQUE.url("every_miss_recomputes"))
    for variant in TECHNIQUE.variants:
        assert await burst([client], variant, 8) == 0


async def test_the_redis_lock_makes_it_once_across_processes(
    client: httpx.AsyncClient, second_app: httpx.AsyncClient
) -> None:
    for _ in range(3):
        await expire(client)
        assert await burst([client, second_app], "single_flight_redis_lock", 16) == 1


async def test_the_lock_is_released_after_the_recomputation(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await expire(client)
    await burst([client], "single_flight_redis_lock", 4)
    assert await app.state.redis.exists("pairbench:stampede:most_discussed:top=20:lock") == 0


@pytest.mark.parametrize("bad", ["0", "101", "x"])
async def test_bad_top_is_a_422(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "top", bad)
