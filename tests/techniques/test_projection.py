"""projection: every variant gives the contract's answer; the bytes each reads are exact."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["projection"]

NEWEST_POSTS = """
    SELECT {select} FROM {schema}.users u
    JOIN (SELECT * FROM {schema}.posts ORDER BY id DESC LIMIT :limit) p ON p.author_id = u.id
"""
# Each variant's result rows as PostgreSQL sends them (DataRow messages): 7 bytes a row and
# 4 a value, plus the values: 8 bytes a bigint or timestamptz, 1 a bool, text as stored.
ROW_BYTES = {
    "naive": "7 + 14 * 4 + 8 + 8 + octet_length(p.title) + octet_length(p.body) + 8"
    " + 8 + octet_length(u.email) + octet_length(u.first_name) + octet_length(u.last_name)"
    " + 1 + octet_length(u.role) + 8 + octet_length(u.password_hash) + octet_length(u.bio)",
    "columns": "7 + 6 * 4 + 8 + octet_length(p.title) + 8"
    " + 8 + octet_length(u.first_name) + octet_length(u.last_name)",
}


async def newest_posts(settings: Settings, select: str, limit: int) -> list[Any]:
    """Rows of `select` over the `limit` newest posts joined with their authors, in plain SQL."""
    engine = make_engine(settings)
    sql = NEWEST_POSTS.format(select=select, schema=settings.db_schema)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql), {"limit": limit})).all())
    finally:
        await engine.dispose()


async def expected_body(settings: Settings, limit: int) -> list[dict[str, Any]]:
    """The contract's answer, computed independently."""
    select = "p.id, p.title, p.created_at, u.id AS author_id, u.first_name, u.last_name"
    rows = await newest_posts(settings, select, limit)
    return [
        {
            "id": row.id,
            "title": row.title,
            "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
            "author": {
                "id": row.author_id,
                "first_name": row.first_name,
                "last_name": row.last_name,
            },
        }
        for row in sorted(rows, key=lambda row: -row.id)
    ]


@pytest.mark.parametrize("limit", [1, 7, 100])
async def test_every_variant_returns_the_contracts_answer(
    client: httpx.AsyncClient, seeded: Settings, limit: int
) -> None:
    expected = await expected_body(seeded, limit)
    assert len(expected) == limit
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, {"limit": limit}))
        assert response.status_code == 200, response.text
        assert response.json() == expected, variant


@pytest.mark.parametrize("limit", [10, 500])
async def test_one_query_and_the_exact_bytes_read(
    client: httpx.AsyncClient, seeded: Settings, limit: int
) -> None:
    read = {}
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, {"limit": limit}))
        [[expected_bytes]] = await newest_posts(seeded, f"sum({ROW_BYTES[variant]})", limit)
        assert costs_of(response)["queries"] == "1", variant
        assert costs_of(response)["rows"] == str(limit), variant
        assert int(costs_of(response)["db_bytes"]) == expected_bytes, variant
        read[variant] = expected_bytes
    assert read["naive"] > 10 * read["columns"]  # the body and bio whole entities bring


async def test_only_techniques_that_opt_in_count_bytes(client: httpx.AsyncClient) -> None:
    response = await client.get("/n-plus-one/joined?authors=3")
    assert costs_of(response)["rows"] != "0"
    assert costs_of(response)["db_bytes"] == ""  # not counted, rather than a false 0


@pytest.mark.parametrize("bad", ["0", "5001", "-1", "all", "2.5"])
async def test_bad_limit_is_a_422_naming_the_parameter(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "limit", bad)
