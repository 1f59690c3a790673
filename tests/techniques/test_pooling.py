"""pooling: both variants give the same answer; only the naive one opens a connection."""

import httpx
import pytest
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["pooling"]


async def expected_body(settings: Settings, users: int) -> list[dict[str, object]]:
    """The contract's answer, computed independently in plain SQL."""
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    f"SELECT id, email, first_name, last_name FROM {settings.db_schema}.users"
                    " ORDER BY id LIMIT :n"
                ),
                {"n": users},
            )
            return [dict(row._mapping) for row in rows]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("users", [1, 10, 1000])
async def test_every_variant_returns_the_contracts_answer(
    client: httpx.AsyncClient, seeded: Settings, users: int
) -> None:
    expected = await expected_body(seeded, users)
    assert len(expected) == users
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, {"users": users}))
        assert response.status_code == 200, response.text
        assert response.json() == expected, variant


@pytest.mark.parametrize("users", [1, 100])
async def test_connections_opened_per_request(client: httpx.AsyncClient, users: int) -> None:
    await client.get(TECHNIQUE.url("pooled", {"users": users}))  # the pool may be cold
    for _ in range(3):
        naive = await client.get(TECHNIQUE.url("connect_per_request", {"users": users}))
        pooled = await client.get(TECHNIQUE.url("pooled", {"users": users}))
        assert costs_of(naive)["connections"] == "1"
        assert costs_of(pooled)["connections"] == "0"
        assert costs_of(naive)["queries"] == costs_of(pooled)["queries"] == "1"
        assert costs_of(naive)["rows"] == costs_of(pooled)["rows"] == str(users)


@pytest.mark.parametrize("bad", ["0", "1001", "-3", "many", "2.5"])
async def test_bad_users_is_a_422_naming_the_parameter(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "users", bad)
