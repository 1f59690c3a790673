"""batch_get: every variant gives the database's answer, in 'count' (one after another or
overlapped), 1 and 1 round trips."""

from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from bench_app.techniques.batch_get import profile_key
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["batch_get"]


async def expected_body(settings: Settings, first: int, count: int) -> list[dict[str, object]]:
    """The contract's answer, read independently in plain SQL."""
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT id, email, first_name, last_name, role, is_active, created_at, bio"
                    f" FROM {settings.db_schema}.users WHERE id >= :first AND id < :end ORDER BY id"
                ),
                {"first": first, "end": first + count},
            )
            return [dict(row) for row in rows.mappings()]
    finally:
        await engine.dispose()


def assert_same_profiles(body: list[dict[str, object]], expected: list[dict[str, object]]) -> None:
    assert len(body) == len(expected)
    for got, want in zip(body, expected, strict=True):
        assert datetime.fromisoformat(str(got["created_at"])) == want["created_at"]
        assert {**got, "created_at": None} == {**want, "created_at": None}


def costs(response: httpx.Response) -> dict[str, int]:
    names = ("queries", "redis-commands", "redis-round-trips", "cache-hits", "cache-misses")
    fields = costs_of(response)
    return {name: int(fields[name.replace("-", "_")]) for name in names}


async def warm(client: httpx.AsyncClient) -> None:
    response = await client.post(TECHNIQUE.reset_path or "")
    assert response.status_code == 200 and response.json()["cached"] >= 1000


async def forget(app: FastAPI, user_ids: list[int]) -> None:
    await app.state.redis.unlink(*(profile_key(user_id) for user_id in user_ids))


@pytest.mark.parametrize(("first", "count"), [(1, 100), (500, 1), (995, 10), (1, 1000)])
async def test_every_variant_returns_the_databases_profiles(
    client: httpx.AsyncClient, app: FastAPI, seeded: Settings, first: int, count: int
) -> None:
    expected = await expected_body(seeded, first, count)
    params = {"first": first, "count": count}
    for variant in TECHNIQUE.variants:
        await forget(app, list(range(first, first + count)))  # cold: every profile a miss
        cold = await client.get(TECHNIQUE.url(variant, params))
        warm_again = await client.get(TECHNIQUE.url(variant, params))
        for response in (cold, warm_again):
            assert response.status_code == 200, response.text
            assert_same_profiles(response.json(), expected)


@pytest.mark.parametrize("count", [1, 10, 100])
async def test_round_trips_on_a_warm_cache(client: httpx.AsyncClient, count: int) -> None:
    await warm(client)
    expected = {
        "one_get_each": (count, count),
        "concurrent_gets": (count, count),
        "pipeline": (count, 1),
        "mget": (1, 1),
    }
    for variant, (commands, round_trips) in expected.items():
        response = await client.get(TECHNIQUE.url(variant, {"first": 1, "count": count}))
        assert costs(response) == {
            "queries": 0,
            "redis-commands": commands,
            "redis-round-trips": round_trips,
            "cache-hits": count,
            "cache-misses": 0,
        }, variant


async def test_misses_are_loaded_in_one_query_and_cached_in_one_round_trip(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    for variant in TECHNIQUE.variants:
        await warm(client)
        await forget(app, [3, 5, 8])
        response = await client.get(TECHNIQUE.url(variant, {"first": 1, "count": 10}))
        one_each = {"one_get_each": (10, 10), "concurrent_gets": (10, 10), "pipeline": (10, 1)}
        read_commands, read_trips = one_each.get(variant, (1, 1))
        assert costs(response) == {
            "queries": 1,
            "redis-commands": read_commands + 3,
            "redis-round-trips": read_trips + 1,
            "cache-hits": 7,
            "cache-misses": 3,
        }, variant
        again = await client.get(TECHNIQUE.url(variant, {"first": 1, "count": 10}))
        assert costs(again)["cache-misses"] == 0


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("count", "0"),
        ("count", "1001"),
        ("first", "0"),
        ("first", "614561524694798303232"),  # past BIGINT: once a 500 from the driver
        ("first", str(2**63 - 1)),  # an id, but the ids after it are not
    ],
)
async def test_bad_parameters_are_a_422_naming_them(
    client: httpx.AsyncClient, name: str, bad: str
) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, name, bad)
