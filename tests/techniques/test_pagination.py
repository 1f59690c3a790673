"""pagination: every variant serves the same page, at its stated rows and queries."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from bench_app.techniques.pagination import CURSOR_MAX_LENGTH
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["pagination"]
READS = {  # the parameters each variant reads, and so validates; it ignores the others
    "naive": {"page", "size"},
    "offset_count": {"page", "size"},
    "offset": {"page", "size"},
    "keyset": {"after", "size"},
}


async def run_sql(settings: Settings, sql: str, **params: Any) -> list[Any]:
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            sql = sql.format(schema=settings.db_schema)
            return list((await conn.execute(text(sql), params)).all())
    finally:
        await engine.dispose()


async def expected_items(settings: Settings, page: int, size: int) -> list[dict[str, Any]]:
    """The page's posts, computed independently in plain SQL."""
    rows = await run_sql(
        settings,
        "SELECT id, title, created_at, author_id FROM {schema}.posts"
        " ORDER BY created_at, id LIMIT :size OFFSET :skip",
        size=size,
        skip=(page - 1) * size,
    )
    return [
        {
            "id": row.id,
            "title": row.title,
            "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
            "author_id": row.author_id,
        }
        for row in rows
    ]


async def post_count(settings: Settings) -> int:
    [[count]] = await run_sql(settings, "SELECT count(*) FROM {schema}.posts")
    return int(count)


async def get_page(client: httpx.AsyncClient, variant: str, page: int, size: int) -> dict[str, Any]:
    """One variant's page as the harness asks for it: the point's params plus params_path's."""
    params: dict[str, Any] = {"page": page, "size": size}
    assert TECHNIQUE.params_path is not None
    extra = await client.get(TECHNIQUE.params_path, params=params)
    assert extra.status_code == 200, extra.text
    response = await client.get(TECHNIQUE.url(variant, {**params, **extra.json()}))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(("page", "size"), [(1, 20), (2, 20), (250, 20), (3, 7), (1000, 20)])
async def test_every_variant_returns_the_same_page(
    client: httpx.AsyncClient, seeded: Settings, page: int, size: int
) -> None:
    expected = await expected_items(seeded, page, size)
    variants = TECHNIQUE.variants
    bodies = {variant: await get_page(client, variant, page, size) for variant in variants}
    for variant, body in bodies.items():
        assert body["items"] == expected, variant
        assert body == bodies["naive"], variant  # the same next_cursor too
    past_the_end = (page - 1) * size >= await post_count(seeded)
    assert (expected == []) == past_the_end  # page 1000 of 20 is past the ~10k posts


async def test_the_last_page_has_no_next_cursor(
    client: httpx.AsyncClient, seeded: Settings
) -> None:
    size = 20
    last_page = -(-(await post_count(seeded)) // size)
    for variant in TECHNIQUE.variants:
        assert (await get_page(client, variant, last_page - 1, size))["next_cursor"], variant
        last = await get_page(client, variant, last_page, size)
        assert last["items"] and last["next_cursor"] is None, variant


async def test_following_next_cursor_walks_the_offset_pages(client: httpx.AsyncClient) -> None:
    """A keyset client holds the previous page's next_cursor; the harness derives the same."""
    after = ""
    for page in range(1, 6):
        offset_page = (await client.get("/pagination/offset", params={"page": page})).json()
        keyset_page = (await client.get("/pagination/keyset", params={"after": after})).json()
        assert keyset_page == offset_page, page
        derived = await client.get("/pagination/cursor", params={"page": page})
        assert derived.json() == {"after": after}, page
        after = keyset_page["next_cursor"]


async def test_keyset_splits_posts_created_in_the_same_minute(
    client: httpx.AsyncClient, seeded: Settings
) -> None:
    """created_at has ties; the id in the cursor keeps them from being skipped or repeated."""
    [tie] = await run_sql(
        seeded,
        "SELECT position FROM (SELECT row_number() OVER (ORDER BY created_at, id) AS position,"
        " created_at = lead(created_at) OVER (ORDER BY created_at, id) AS tied"
        " FROM {schema}.posts) ordered WHERE tied ORDER BY position LIMIT 1",
    )
    page = tie.position + 1  # with one post a page: the second post of the tie
    expected = await expected_items(seeded, page, 1)
    previous = await expected_items(seeded, page - 1, 1)
    assert expected[0]["created_at"] == previous[0]["created_at"]
    assert (await get_page(client, "keyset", page, 1))["items"] == expected


@pytest.mark.parametrize("size", [10, 50])
async def test_rows_and_queries_per_request(
    client: httpx.AsyncClient, seeded: Settings, size: int
) -> None:
    posts = await post_count(seeded)
    expected = {  # (queries, rows): one row more than the page says whether another follows
        "naive": (1, posts),
        "offset_count": (2, 1 + size),
        "offset": (1, size + 1),
        "keyset": (1, size + 1),
    }
    for variant, (queries, rows) in expected.items():
        params = {"page": 3, "size": size}
        extra = (await client.get("/pagination/cursor", params=params)).json()
        response = await client.get(TECHNIQUE.url(variant, {**params, **extra}))
        assert int(costs_of(response)["queries"]) == queries, variant
        assert int(costs_of(response)["rows"]) == rows, variant


async def test_keyset_seeks_the_index_on_the_sort_key(
    client: httpx.AsyncClient, seeded: Settings
) -> None:
    """Without posts(created_at, id), keyset would sort the table like OFFSET does."""
    plan = await run_sql(
        seeded,
        "EXPLAIN SELECT id FROM {schema}.posts WHERE (created_at, id) > (now(), 1)"
        " ORDER BY created_at, id LIMIT 21",
    )
    assert "posts_created_at_id_idx" in "\n".join(line for [line] in plan)


@pytest.mark.parametrize(
    ("parameter", "bad"),
    [
        ("page", "0"),
        ("page", "x"),
        ("size", "0"),
        ("size", "101"),
        ("after", "not-a-cursor"),
        ("after", "MjAyNnwx"),  # base64 of "2026|1": not the declared shape
        # In form but of no post the driver could look for (once 500s): the pattern bounds them
        ("after", "1_9223372036854775808"),  # id > BIGINT
        ("after", "1_0"),  # ids start at 1
        ("after", "9" * 17 + "_1"),  # past year 2286
        ("after", "A" * 129),  # longer than any cursor
    ],
)
async def test_bad_parameters_are_a_422_naming_them(
    client: httpx.AsyncClient, parameter: str, bad: str
) -> None:
    assert list(READS) == list(TECHNIQUE.variants)
    readers = [variant for variant in TECHNIQUE.variants if parameter in READS[variant]]
    await assert_every_variant_rejects(client, TECHNIQUE, parameter, bad, variants=readers)
    for variant in set(TECHNIQUE.variants) - set(readers):  # it ignores what it does not read
        response = await client.get(TECHNIQUE.url(variant, {parameter: bad}))
        assert response.status_code == 200, variant


@pytest.mark.parametrize(
    "after", ["-" + "9" * 16 + "_" + "9" * 18, "9" * 16 + "_" + "9" * 18, "0_1", "-0001_1"]
)
async def test_every_cursor_the_schema_allows_is_a_place_in_the_listing(
    client: httpx.AsyncClient, after: str
) -> None:
    """The schema's pattern is the cursor's whole shape: what it allows, keyset answers."""
    response = await client.get("/pagination/keyset", params={"after": after})
    assert response.status_code == 200, response.text
    assert len(after) <= CURSOR_MAX_LENGTH


async def test_plans_show_offset_reading_every_row_before_the_page(
    client: httpx.AsyncClient, seeded: Settings
) -> None:
    """The run's artifacts: what each variant's statements read, at each measured page."""
    assert TECHNIQUE.artifacts_path is not None
    plans = (await client.get(TECHNIQUE.artifacts_path)).json()
    scan = "Index Scan using posts_created_at_id_idx on posts (actual rows={} loops=1)"
    assert scan.format(21) in plans["offset, page=1"]
    assert scan.format(2001) in plans["offset, page=100"]  # 99 pages of 20 read, then 21
    assert scan.format(21) in plans["keyset, page=100"]
    counted = f"(actual rows={await post_count(seeded)} loops=1)"  # COUNT(*) visits every post
    assert counted in plans["offset_count, page=100"]
    assert "naive, page=250" in plans and "naive, page=100" not in plans  # the same everywhere
