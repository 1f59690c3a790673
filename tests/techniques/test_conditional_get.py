"""conditional_get: the same representation everywhere; a held ETag gets a bodiless 304."""

from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from bench_app.techniques.conditional_get import TTL_S, representation_key, still_fresh
from pairbench.profiles import PROFILES
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["conditional_get"]
WITH_ETAG = ("etag", "etag_cached")


async def expected_body(settings: Settings, user_id: int) -> dict[str, object]:
    """The contract's answer, read independently in plain SQL."""
    engine = make_engine(settings)
    schema = settings.db_schema
    try:
        async with engine.connect() as conn:
            user = (
                await conn.execute(
                    text(
                        f"SELECT id, first_name, last_name, bio FROM {schema}.users WHERE id = :id"
                    ),
                    {"id": user_id},
                )
            ).one()
            posts = await conn.execute(
                text(
                    f"SELECT id, title, body, created_at FROM {schema}.posts"
                    " WHERE author_id = :id ORDER BY id"
                ),
                {"id": user_id},
            )
            return {**user._asdict(), "posts": [dict(post) for post in posts.mappings()]}
    finally:
        await engine.dispose()


def decoded(body: dict[str, object]) -> dict[str, object]:
    """The JSON body with post times parsed back, to compare with database values."""
    posts = [
        {**post, "created_at": datetime.fromisoformat(post["created_at"])}
        for post in body["posts"]  # type: ignore[attr-defined]
    ]
    return {**body, "posts": posts}


async def reset(client: httpx.AsyncClient, params: dict[str, int] | None = None) -> None:
    """The harness's reset before a segment: drop the cache, then cache `params`' profile."""
    response = await client.post(TECHNIQUE.reset_path or "", params=params or {})
    assert response.status_code == 200


@pytest.mark.parametrize("user_id", [1, 77, 1000])
async def test_every_variant_returns_the_same_representation(
    client: httpx.AsyncClient, seeded: Settings, user_id: int
) -> None:
    expected = await expected_body(seeded, user_id)
    assert len(expected["posts"]) >= 5  # type: ignore[arg-type]
    await reset(client)
    bodies = set()
    for variant in TECHNIQUE.variants:
        for _ in ("cold", "warm"):
            response = await client.get(TECHNIQUE.url(variant, {"user_id": user_id}))
            assert response.status_code == 200, response.text
            assert decoded(response.json()) == expected, variant
            bodies.add(response.content)
    assert len(bodies) == 1, "byte for byte, so one ETag fits all"


async def test_a_held_etag_gets_a_304_without_a_body(client: httpx.AsyncClient) -> None:
    await reset(client)
    tags = set()
    for variant in WITH_ETAG:
        url = TECHNIQUE.url(variant)
        first = await client.get(url)
        tag = first.headers["etag"]
        assert first.headers["cache-control"] == "no-cache"
        again = await client.get(url, headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == tag
        tags.add(tag)
    assert len(tags) == 1


async def test_a_stale_etag_gets_the_full_body(client: httpx.AsyncClient) -> None:
    for variant in WITH_ETAG:
        fresh = await client.get(TECHNIQUE.url(variant))
        stale = await client.get(TECHNIQUE.url(variant), headers={"If-None-Match": '"old"'})
        assert stale.status_code == 200 and stale.content == fresh.content


async def test_the_full_variant_has_no_validator(client: httpx.AsyncClient) -> None:
    first = await client.get(TECHNIQUE.url("full"))
    assert "etag" not in first.headers
    again = await client.get(TECHNIQUE.url("full"), headers={"If-None-Match": "*"})
    assert again.status_code == 200 and again.content == first.content


async def test_bytes_and_costs_of_a_revalidation(client: httpx.AsyncClient) -> None:
    await reset(client)
    full = await client.get(TECHNIQUE.url("full"))
    tag = (await client.get(TECHNIQUE.url("etag_cached"))).headers["etag"]  # caches it
    revalidations = {
        variant: await client.get(TECHNIQUE.url(variant), headers={"If-None-Match": tag})
        for variant in TECHNIQUE.variants
    }
    assert len(full.content) > 5000
    assert len(revalidations["full"].content) == len(full.content)
    costs = {
        variant: (len(r.content), int(costs_of(r)["queries"]), int(costs_of(r)["redis_commands"]))
        for variant, r in revalidations.items()
    }
    assert costs == {
        "full": (len(full.content), 2, 0),
        "etag": (0, 2, 0),
        "etag_cached": (0, 0, 1),
    }


@pytest.mark.parametrize("user_id", [1, 77])
async def test_after_a_reset_every_revalidation_costs_exactly_the_same(
    client: httpx.AsyncClient, user_id: int
) -> None:
    """A browser's first request, then revalidations, in a segment that starts after a
    reset: the cached representation is there from the first request, so each variant's
    queries and Redis commands per request are exact, with no first miss among them."""
    params = {"user_id": user_id}
    expected = {"full": (2, 0), "etag": (2, 0), "etag_cached": (0, 1)}  # queries, Redis
    for variant, (queries, commands) in expected.items():
        await reset(client, params)
        first = await client.get(TECHNIQUE.url(variant, params))
        tag = first.headers.get("etag")
        held = {} if tag is None else {"If-None-Match": tag}
        again = [await client.get(TECHNIQUE.url(variant, params), headers=held) for _ in range(4)]
        for response in (first, *again):
            found = (int(costs_of(response)["queries"]), int(costs_of(response)["redis_commands"]))
            assert found == (queries, commands), variant
        assert {r.status_code for r in again} == ({200} if tag is None else {304})


async def test_a_reset_sets_a_ttl_longer_than_any_load_segment(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    longest_segment_s = max(p.longest_segment_s for p in PROFILES.values())
    assert TTL_S >= 2 * longest_segment_s
    await reset(client)
    ttl_ms = await app.state.redis.pttl(representation_key(1))
    assert TTL_S * 1000 - 5000 < ttl_ms <= TTL_S * 1000


async def test_an_unknown_user_is_a_404_and_is_not_cached(client: httpx.AsyncClient) -> None:
    for variant in TECHNIQUE.variants:
        for _ in range(2):
            response = await client.get(TECHNIQUE.url(variant, {"user_id": 10_000_000}))
            assert response.status_code == 404
            assert "10000000" in response.json()["detail"]


@pytest.mark.parametrize("bad", ["0", "-1", "x", str(2**63)])
async def test_bad_user_id_is_a_422(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "user_id", bad)


@pytest.mark.parametrize(
    ("header", "fresh"),
    [
        (None, False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),
        ("", False),
    ],
)
def test_if_none_match_uses_weak_comparison(header: str | None, fresh: bool) -> None:
    assert still_fresh(header, '"abc"') is fresh
