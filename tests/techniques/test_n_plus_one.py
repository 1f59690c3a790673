"""n_plus_one: the three variants give the right answer, at their stated query counts."""

import httpx
import pytest
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["n_plus_one"]


async def expected_body(settings: Settings, authors: int) -> list[dict[str, object]]:
    """The contract's answer, computed independently in plain SQL."""
    engine = make_engine(settings)
    schema = settings.db_schema
    try:
        async with engine.connect() as conn:
            users = (
                await conn.execute(
                    text(
                        f"SELECT id, first_name, last_name FROM {schema}.users ORDER BY id LIMIT :n"
                    ),
                    {"n": authors},
                )
            ).all()
            posts = (
                await conn.execute(
                    text(
                        f"SELECT author_id, id, title FROM {schema}.posts"
                        " WHERE author_id <= :last ORDER BY id"
                    ),
                    {"last": users[-1].id},
                )
            ).all()
    finally:
        await engine.dispose()
    return [
        {
            "id": user.id,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "posts": [{"id": p.id, "title": p.title} for p in posts if p.author_id == user.id],
        }
        for user in users
    ]


@pytest.mark.parametrize("authors", [1, 7, 50])
async def test_every_variant_returns_the_contracts_answer(
    client: httpx.AsyncClient, seeded: Settings, authors: int
) -> None:
    expected = await expected_body(seeded, authors)
    assert len(expected) == authors and any(author["posts"] for author in expected)
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, {"authors": authors}))
        assert response.status_code == 200, response.text
        assert response.json() == expected, variant


@pytest.mark.parametrize("authors", [5, 20])
async def test_statements_per_request(client: httpx.AsyncClient, authors: int) -> None:
    expected_queries = {"naive": authors + 1, "selectin": 2, "joined": 1}
    for variant, queries in expected_queries.items():
        response = await client.get(TECHNIQUE.url(variant, {"authors": authors}))
        assert int(costs_of(response)["queries"]) == queries, variant


@pytest.mark.parametrize("bad", ["0", "1001", "-3", "many", "2.5"])
async def test_bad_authors_is_a_422_naming_the_parameter(
    client: httpx.AsyncClient, bad: str
) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "authors", bad)
