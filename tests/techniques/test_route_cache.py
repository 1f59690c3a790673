"""route_cache: every variant answers the caller's own dashboard; the decorated route keeps
successes only, per caller, for its role's TTL, and Cache-Control: no-cache skips it."""

import itertools
import time

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.principal import Role, principal_headers
from bench_app.route_cache import KEY_SPACE
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from bench_app.techniques.route_cache import TTL_BY_ROLE, WORKING_SET, caller
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["route_cache"]
CACHED = TECHNIQUE.url("decorated_cache")
NO_SUCH_USER = 999_999


async def expected_dashboard(settings: Settings, user_id: int, posts: int) -> dict[str, object]:
    """The contract's answer, read independently in plain SQL."""
    engine = make_engine(settings)
    schema = settings.db_schema
    try:
        async with engine.connect() as conn:
            user = (
                await conn.execute(
                    text(f"SELECT first_name, last_name FROM {schema}.users WHERE id = :id"),
                    {"id": user_id},
                )
            ).one()
            titles = await conn.execute(
                text(
                    f"SELECT id, title FROM {schema}.posts WHERE author_id = :id ORDER BY id DESC"
                ),
                {"id": user_id},
            )
            rows = [dict(row) for row in titles.mappings()]
    finally:
        await engine.dispose()
    return {
        "user_id": user_id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "post_count": len(rows),
        "latest": rows[:posts],
    }


def as_(user_id: int, role: Role = Role.MEMBER, **extra: str) -> dict[str, str]:
    return {**principal_headers(user_id, role), **extra}


def lookups(response: httpx.Response) -> tuple[int, int, int]:
    """(queries, cache hits, cache misses) the response's cost header reports."""
    costs = costs_of(response)
    return tuple(int(costs[name] or 0) for name in ("queries", "cache_hits", "cache_misses"))  # type: ignore[return-value]


@pytest.fixture
async def empty_cache(app: FastAPI) -> None:
    keys = [key async for key in app.state.redis.scan_iter(match=f"{KEY_SPACE}:*")]
    if keys:
        await app.state.redis.unlink(*keys)


@pytest.mark.parametrize(("user_id", "posts"), [(1, 10), (7, 1), (500, 50)])
async def test_every_variant_answers_the_callers_own_dashboard(
    client: httpx.AsyncClient, seeded: Settings, empty_cache: None, user_id: int, posts: int
) -> None:
    expected = await expected_dashboard(seeded, user_id, posts)
    for variant in TECHNIQUE.variants:
        for _ in range(2):  # the decorated route: a miss, then a hit
            response = await client.get(
                TECHNIQUE.url(variant, {"posts": posts}), headers=as_(user_id)
            )
            assert response.status_code == 200, response.text
            assert response.json() == expected, variant


async def test_a_user_never_gets_another_users_entry(
    client: httpx.AsyncClient, seeded: Settings, empty_cache: None
) -> None:
    first = await client.get(CACHED, headers=as_(3))
    second = await client.get(CACHED, headers=as_(4))  # the same URL, another caller
    assert second.json() == await expected_dashboard(seeded, 4, 10)
    assert lookups(first) == lookups(second) == (3, 0, 1)  # each a miss of its own
    again = await client.get(CACHED, headers=as_(3))
    assert again.json() == first.json() and lookups(again) == (0, 1, 0)
    # The same user under another role is another entry too: it may be kept less long.
    as_admin = await client.get(CACHED, headers=as_(3, Role.ADMIN))
    assert lookups(as_admin) == (3, 0, 1)


async def test_an_error_is_never_cached(
    client: httpx.AsyncClient, app: FastAPI, empty_cache: None
) -> None:
    for _ in range(2):
        response = await client.get(CACHED, headers=as_(NO_SUCH_USER))
        assert response.status_code == 404
        assert lookups(response) == (3, 0, 1), "looked up, missed, asked the database again"
    kept = [key async for key in app.state.redis.scan_iter(match=f"{KEY_SPACE}:*")]
    assert not any(f"user={NO_SUCH_USER}:" in key.decode() for key in kept)


async def test_no_cache_skips_the_lookup_and_refreshes_the_entry(
    client: httpx.AsyncClient, empty_cache: None
) -> None:
    await client.get(CACHED, headers=as_(5))
    assert lookups(await client.get(CACHED, headers=as_(5))) == (0, 1, 0)
    for switch in ("no-cache", "max-age=0, No-Cache"):
        fresh = await client.get(CACHED, headers=as_(5, **{"cache-control": switch}))
        assert fresh.status_code == 200
        assert lookups(fresh) == (3, 0, 0), "no lookup: straight to the database"
    assert lookups(await client.get(CACHED, headers=as_(5))) == (0, 1, 0)


@pytest.mark.parametrize("role", list(Role))
async def test_an_entry_lives_as_long_as_its_role_allows(
    client: httpx.AsyncClient, app: FastAPI, empty_cache: None, role: Role
) -> None:
    set_ms = TTL_BY_ROLE[role] * 1000
    started = time.monotonic()
    await client.get(CACHED, headers=as_(6, role))
    keys = [key async for key in app.state.redis.scan_iter(match=f"{KEY_SPACE}:*user=6:*")]
    ttl_ms = await app.state.redis.pttl(keys[0]) if keys else -2
    elapsed_ms = (time.monotonic() - started) * 1000
    if ttl_ms == -2:  # gone: only right if the machine stalled longer than the role's TTL
        assert elapsed_ms >= set_ms, f"the {role} entry was gone after {elapsed_ms:.0f} ms"
    else:
        # What is left is the role's TTL less the time since the SET, at most the time the
        # test took: the roles' TTLs are far enough apart to tell which one was set.
        assert set_ms - elapsed_ms - 1 <= ttl_ms <= set_ms, (ttl_ms, elapsed_ms)
    ttls = sorted(TTL_BY_ROLE.values())
    assert all(shorter * 2 <= longer for shorter, longer in itertools.pairwise(ttls))


async def test_hits_and_misses_reach_the_metrics(
    client: httpx.AsyncClient, empty_cache: None
) -> None:
    def hits_and_misses(metrics: str) -> list[float]:
        route = 'route="/route-cache/decorated-cache"'
        return [
            float(line.rsplit(" ", 1)[1])
            for name in ("pairbench_cache_hits_total", "pairbench_cache_misses_total")
            for line in metrics.splitlines()
            if line.startswith(f"{name}{{{route}}}")
        ] or [0.0, 0.0]

    before = hits_and_misses((await client.get("/metrics")).text)
    for _ in range(3):
        await client.get(CACHED, headers=as_(8))
    after = hits_and_misses((await client.get("/metrics")).text)
    assert [a - b for a, b in zip(after, before, strict=True)] == [2.0, 1.0]


async def test_reset_caches_the_working_set_as_the_route_would(
    client: httpx.AsyncClient, seeded: Settings, empty_cache: None
) -> None:
    response = await client.post(TECHNIQUE.reset_path or "", params={"posts": 3})
    assert response.json()["cached"] == WORKING_SET
    for user_id in (1, 3, 4, WORKING_SET):  # a member, an editor, an admin, the last
        headers = as_(user_id, caller(user_id).role)
        hit = await client.get(TECHNIQUE.url("decorated_cache", {"posts": 3}), headers=headers)
        assert lookups(hit) == (0, 1, 0)
        assert hit.json() == await expected_dashboard(seeded, user_id, 3)


@pytest.mark.parametrize(
    ("name", "bad", "in_header"),
    [
        ("posts", "0", False),
        ("posts", "51", False),
        ("x-user-id", None, True),  # no caller named
        ("x-user-id", "0", True),
        ("x-user-role", "root", True),
    ],
)
async def test_bad_input_is_a_422_naming_it(
    client: httpx.AsyncClient, name: str, bad: str | None, in_header: bool
) -> None:
    await assert_every_variant_rejects(
        client, TECHNIQUE, name, bad, headers=as_(1), in_header=in_header
    )
