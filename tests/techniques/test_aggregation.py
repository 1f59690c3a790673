"""aggregation: both variants give the contract's answer, at their stated rows and queries."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.seed import POSTS_PER_USER
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["aggregation"]


async def expected_body(settings: Settings, more_than: int) -> list[dict[str, Any]]:
    """The contract's answer, computed independently in plain SQL (a correlated count)."""
    schema = settings.db_schema
    sql = f"""
        SELECT * FROM (
            SELECT u.id AS author_id, u.first_name, u.last_name,
                   (SELECT count(*) FROM {schema}.posts p WHERE p.author_id = u.id) AS post_count
            FROM {schema}.users u
        ) counted
        WHERE post_count > :more_than
        ORDER BY post_count DESC, author_id
    """
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text(sql), {"more_than": more_than})).mappings().all()
    finally:
        await engine.dispose()
    return [dict(row) for row in rows]


async def post_count(settings: Settings) -> int:
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            count = await conn.scalar(text(f"SELECT count(*) FROM {settings.db_schema}.posts"))
    finally:
        await engine.dispose()
    return int(count)


@pytest.mark.parametrize("more_than", [0, 12, 14, 15])
async def test_every_variant_returns_the_contracts_answer(
    client: httpx.AsyncClient, seeded: Settings, more_than: int
) -> None:
    expected = await expected_body(seeded, more_than)
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, {"more_than": more_than}))
        assert response.status_code == 200, response.text
        assert response.json() == expected, variant
    most_posts = POSTS_PER_USER[1]
    assert bool(expected) == (more_than < most_posts)  # 15: nobody qualifies, an empty list


@pytest.mark.parametrize("more_than", [0, 12])
async def test_rows_and_queries_per_request(
    client: httpx.AsyncClient, seeded: Settings, more_than: int
) -> None:
    authors = len(await expected_body(seeded, more_than))
    posts = await post_count(seeded)
    expected = {"naive": (2, posts + authors), "group_by": (1, authors)}
    for variant, (queries, rows) in expected.items():
        response = await client.get(TECHNIQUE.url(variant, {"more_than": more_than}))
        assert int(costs_of(response)["queries"]) == queries, variant
        assert int(costs_of(response)["rows"]) == rows, variant


@pytest.mark.parametrize("bad", ["-1", "many", "2.5"])
async def test_bad_more_than_is_a_422_naming_the_parameter(
    client: httpx.AsyncClient, bad: str
) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "more_than", bad)
