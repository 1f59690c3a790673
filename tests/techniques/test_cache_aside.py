"""cache_aside: every variant gives the uncached answer; hits skip the database, at stated costs."""

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from bench_app.techniques.cache_aside import REDIS_TTL_S, top_authors_key
from pairbench.profiles import PROFILES
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["cache_aside"]


async def expected_body(settings: Settings, days: int, limit: int) -> list[dict[str, object]]:
    """The contract's answer, computed independently in plain SQL."""
    engine = make_engine(settings)
    schema = settings.db_schema
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    f"SELECT u.id, u.first_name, u.last_name, count(*) AS posts"
                    f" FROM {schema}.posts p JOIN {schema}.users u ON u.id = p.author_id"
                    " WHERE p.created_at >= timestamptz '2026-01-01' - make_interval(days => :days)"
                    " AND p.created_at < timestamptz '2026-01-01'"
                    " GROUP BY u.id ORDER BY posts DESC, u.id LIMIT :limit"
                ),
                {"days": days, "limit": limit},
            )
            return [dict(row) for row in rows.mappings()]
    finally:
        await engine.dispose()


def costs(response: httpx.Response) -> dict[str, int]:
    names = ("queries", "redis-commands", "redis-round-trips", "cache-hits", "cache-misses")
    fields = costs_of(response)
    return {name: int(fields[name.replace("-", "_")]) for name in names}


COLD = {"days": 7, "limit": 5}  # parameters no test warms with a reset


async def reset(client: httpx.AsyncClient, params: dict[str, int] | None = None) -> None:
    """The harness's reset before a segment: empty the caches, then warm `params`' answer."""
    response = await client.post(TECHNIQUE.reset_path or "", params=params or {})
    assert response.status_code == 200


@pytest.mark.parametrize(("days", "limit"), [(30, 50), (7, 5), (365, 200)])
async def test_cached_answers_equal_the_uncached_one(
    client: httpx.AsyncClient, seeded: Settings, days: int, limit: int
) -> None:
    expected = await expected_body(seeded, days, limit)
    assert len(expected) == limit and expected[0]["posts"] >= expected[-1]["posts"]
    await reset(client)
    for variant in TECHNIQUE.variants:
        for attempt in ("cold", "warm"):
            response = await client.get(TECHNIQUE.url(variant, {"days": days, "limit": limit}))
            assert response.status_code == 200, response.text
            assert response.json() == expected, (variant, attempt)


async def test_database_variant_queries_every_time(client: httpx.AsyncClient) -> None:
    await reset(client)
    for _ in range(3):
        response = await client.get(TECHNIQUE.url("database"))
        assert costs(response) == {
            "queries": 1,
            "redis-commands": 0,
            "redis-round-trips": 0,
            "cache-hits": 0,
            "cache-misses": 0,
        }


async def test_redis_variant_queries_once_then_only_gets(client: httpx.AsyncClient) -> None:
    await reset(client)
    miss = costs(await client.get(TECHNIQUE.url("redis", COLD)))
    hits = [costs(await client.get(TECHNIQUE.url("redis", COLD))) for _ in range(3)]
    assert miss == {
        "queries": 1,
        "redis-commands": 2,
        "redis-round-trips": 2,
        "cache-hits": 0,
        "cache-misses": 1,
    }  # GET (miss), then SET with its TTL
    assert (
        hits
        == [
            {
                "queries": 0,
                "redis-commands": 1,
                "redis-round-trips": 1,
                "cache-hits": 1,
                "cache-misses": 0,
            }
        ]
        * 3
    )


async def test_two_level_variant_serves_repeats_from_process_memory(
    client: httpx.AsyncClient,
) -> None:
    await reset(client)
    miss = costs(await client.get(TECHNIQUE.url("two_level", COLD)))
    hits = [costs(await client.get(TECHNIQUE.url("two_level", COLD))) for _ in range(3)]
    assert miss == {
        "queries": 1,
        "redis-commands": 2,
        "redis-round-trips": 2,
        "cache-hits": 0,
        "cache-misses": 1,
    }
    assert (
        hits
        == [
            {
                "queries": 0,
                "redis-commands": 0,
                "redis-round-trips": 0,
                "cache-hits": 1,
                "cache-misses": 0,
            }
        ]
        * 3
    )


async def test_two_level_falls_back_to_redis_before_the_database(
    client: httpx.AsyncClient,
) -> None:
    await reset(client)
    await client.get(TECHNIQUE.url("redis", COLD))  # fills Redis, not this process's local cache
    response = await client.get(TECHNIQUE.url("two_level", COLD))
    assert costs(response) == {
        "queries": 0,
        "redis-commands": 1,
        "redis-round-trips": 1,
        "cache-hits": 1,
        "cache-misses": 0,
    }


EXACT_COSTS = {  # per request, every request of a segment that starts after a reset
    "database": {
        "queries": 1,
        "redis-commands": 0,
        "redis-round-trips": 0,
        "cache-hits": 0,
        "cache-misses": 0,
    },
    "redis": {
        "queries": 0,
        "redis-commands": 1,
        "redis-round-trips": 1,
        "cache-hits": 1,
        "cache-misses": 0,
    },
    "two_level": {
        "queries": 0,
        "redis-commands": 0,
        "redis-round-trips": 0,
        "cache-hits": 1,
        "cache-misses": 0,
    },
}


@pytest.mark.parametrize("params", [dict(TECHNIQUE.params), {"days": 90, "limit": 50}])
async def test_after_a_reset_every_request_costs_exactly_the_same(
    client: httpx.AsyncClient, params: dict[str, int]
) -> None:
    """The reset warms the point's answer, so a segment has no miss at all: from its very
    first request, each variant's costs are exact (no query and no miss for the caches)."""
    for variant, expected in EXACT_COSTS.items():
        await reset(client, params)
        found = [costs(await client.get(TECHNIQUE.url(variant, params))) for _ in range(5)]
        assert found == [expected] * 5, variant


async def test_a_reset_sets_a_ttl_longer_than_any_load_segment(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Counted from the reset, the cached answer outlives the longest segment twice over."""
    longest_segment_s = max(p.longest_segment_s for p in PROFILES.values())
    assert REDIS_TTL_S >= 2 * longest_segment_s
    await reset(client)
    ttl_ms = await app.state.redis.pttl(top_authors_key(**TECHNIQUE.params))
    assert REDIS_TTL_S * 1000 - 5000 < ttl_ms <= REDIS_TTL_S * 1000


async def test_different_parameters_are_cached_apart(client: httpx.AsyncClient) -> None:
    await reset(client)
    for variant in ("redis", "two_level"):
        week = await client.get(TECHNIQUE.url(variant, {"days": 7, "limit": 10}))
        year = await client.get(TECHNIQUE.url(variant, {"days": 365, "limit": 10}))
        assert week.json() != year.json()


@pytest.mark.parametrize(
    ("name", "bad"), [("days", "0"), ("days", "366"), ("limit", "0"), ("limit", "x")]
)
async def test_bad_parameters_are_a_422_naming_them(
    client: httpx.AsyncClient, name: str, bad: str
) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, name, bad)
