"""indexing: both variants give the contract's answer; the plans show scan vs index."""

import re
from datetime import datetime
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from sqlalchemy import text

from bench_app.accounts import full_size, generate_accounts
from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from bench_app.techniques.indexing import INDEXED, UNINDEXED
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["indexing"]
FULL_TABLE = UNINDEXED[None].name
BUFFERS = re.compile(r"Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?")


async def fetch(settings: Settings, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text(sql.format(schema=settings.db_schema)), params)
            return [dict(row._mapping) for row in result]
    finally:
        await engine.dispose()


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "last_seen_at": TypeAdapter(datetime).dump_python(row["last_seen_at"], mode="json"),
    }


async def expected_body(
    settings: Settings, email: str, role: str, limit: int, rows: int | None
) -> dict[str, Any]:
    """The contract's answer, in plain SQL over the first `rows` rows of the full table."""
    bound = rows or full_size(settings)
    columns = "id, email, display_name, role, is_active, last_seen_at"
    accounts = await fetch(
        settings,
        f"SELECT {columns} FROM {{schema}}.{FULL_TABLE} WHERE email = :email AND id <= :bound",
        {"email": email, "bound": bound},
    )
    recent = await fetch(
        settings,
        f"SELECT {columns} FROM {{schema}}.{FULL_TABLE}"
        " WHERE is_active AND role = :role AND id <= :bound"
        " ORDER BY last_seen_at DESC, id DESC LIMIT :limit",
        {"role": role, "bound": bound, "limit": limit},
    )
    return {
        "account": as_json(accounts[0]) if accounts else None,
        "recently_seen": [as_json(row) for row in recent],
    }


def lookup_params(email: str, role: str, limit: int, rows: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {"email": email, "role": role, "limit": limit}
    return params if rows is None else {**params, "rows": rows}


@pytest.mark.parametrize(
    ("email", "role", "limit", "rows"),
    [
        ("account777@example.com", "admin", 20, None),
        ("account5@example.com", "owner", 7, 1000),
        ("account9999@example.com", "editor", 50, 10_000),
        ("account50000@example.com", "member", 3, 10_000),  # beyond this copy: not found
        ("nobody@example.com", "admin", 1, None),
    ],
)
async def test_every_variant_returns_the_contracts_answer(
    client: httpx.AsyncClient, seeded: Settings, email: str, role: str, limit: int, rows: int | None
) -> None:
    expected = await expected_body(seeded, email, role, limit, rows)
    assert expected["recently_seen"], "the case should list someone"
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, lookup_params(email, role, limit, rows)))
        assert response.status_code == 200, response.text
        assert response.json() == expected, variant


async def test_the_copies_hold_the_same_rows_and_the_data_looks_as_designed(
    seeded: Settings,
) -> None:
    full = full_size(seeded)
    for size, table in INDEXED.items():
        differing = await fetch(
            seeded,
            f"SELECT count(*) AS n FROM (SELECT * FROM {{schema}}.{UNINDEXED[size].name}"
            f" EXCEPT ALL SELECT * FROM {{schema}}.{table.name}) AS only_in_one",
            {},
        )
        assert differing == [{"n": 0}], table.name
        counted = await fetch(seeded, f"SELECT count(*) AS n FROM {{schema}}.{table.name}", {})
        assert counted[0]["n"] == (full if size is None else size if size < full else 0)
    shares = await fetch(
        seeded,
        f"SELECT avg(is_active::int) AS active, avg((role = 'admin')::int) AS admins"
        f" FROM {{schema}}.{FULL_TABLE}",
        {},
    )
    assert float(shares[0]["active"]) == pytest.approx(0.30, abs=0.01)
    assert float(shares[0]["admins"]) == pytest.approx(0.04, abs=0.005)


async def test_the_same_seed_generates_the_same_accounts(seeded: Settings) -> None:
    engine = make_engine(seeded)
    digests = []
    try:
        async with engine.connect() as conn:
            await conn.execute(
                text(
                    f"CREATE TEMP TABLE generated"
                    f" (LIKE {seeded.db_schema}.{FULL_TABLE} INCLUDING ALL)"
                )
            )
            for seed in (7, 7, 8):
                await generate_accounts(conn, "generated", 500, seed)
                digest = "SELECT md5(string_agg(g::text, ',' ORDER BY id)) FROM generated AS g"
                digests.append(await conn.scalar(text(digest)))
                await conn.execute(text("TRUNCATE generated"))
            await conn.rollback()
    finally:
        await engine.dispose()
    assert digests[0] == digests[1] != digests[2]


@pytest.mark.parametrize("rows", [10_000, None])
async def test_two_queries_per_request_at_any_size(
    client: httpx.AsyncClient, rows: int | None
) -> None:
    for variant in TECHNIQUE.variants:
        params = lookup_params("account777@example.com", "admin", 20, rows)
        response = await client.get(TECHNIQUE.url(variant, params))
        assert int(costs_of(response)["queries"]) == 2, variant
        assert int(costs_of(response)["rows"]) == 1 + 20, variant


def buffers_touched(plan: str) -> int:
    """Pages the plan's top node read (hit or read), counting parallel workers."""
    match = BUFFERS.search(plan)
    assert match, plan
    return sum(int(count or 0) for count in match.groups())


async def table_pages(settings: Settings, table: str) -> int:
    found = await fetch(
        settings,
        "SELECT pg_relation_size(:table) / current_setting('block_size')::int AS pages",
        {"table": f"{settings.db_schema}.{table}"},
    )
    return int(found[0]["pages"])


@pytest.mark.parametrize("rows", [10_000, None])
async def test_plans_scan_every_page_unindexed_and_a_few_indexed(
    client: httpx.AsyncClient, seeded: Settings, rows: int | None
) -> None:
    response = await client.get(
        TECHNIQUE.artifacts_path or "", params={"rows": rows} if rows else {}
    )
    assert response.status_code == 200, response.text
    plans = {name.split(". ", 1)[1]: plan for name, plan in response.json().items()}
    label = f"{rows or full_size(seeded):,} rows"
    pages = await table_pages(seeded, UNINDEXED[rows].name)
    for query in ("account by email", "recently seen active admins"):
        unindexed = plans[f"unindexed, {label}: {query}"]
        assert "Seq Scan" in unindexed and "Index" not in unindexed
        assert buffers_touched(unindexed) >= pages
        indexed = plans[f"indexed, {label}: {query}"]
        assert "Seq Scan" not in indexed
        assert buffers_touched(indexed) <= 20 + 5  # `limit` heap pages + the index's levels
    assert f"{INDEXED[rows].name}_email_key" in plans[f"indexed, {label}: account by email"]
    assert (
        f"{INDEXED[rows].name}_active_role_seen_idx"
        in plans[f"indexed, {label}: recently seen active admins"]
    )
    assert "_active_role_seen_idx" in plans[f"sizes, {label}"]


async def test_default_plans_cover_the_full_table_and_the_smallest_copy_in_order(
    client: httpx.AsyncClient, seeded: Settings
) -> None:
    response = await client.get(TECHNIQUE.artifacts_path or "")
    names = list(response.json())
    assert names == sorted(names)  # the run stores them sorted: numbering keeps this order
    assert [name.split(". ", 1)[1] for name in names[:2]] == [
        f"unindexed, {full_size(seeded):,} rows: account by email",
        f"indexed, {full_size(seeded):,} rows: account by email",
    ]
    assert any("1,000 rows" in name for name in names)


@pytest.mark.parametrize(
    ("name", "bad", "beside"),
    [
        ("role", "boss", {"email": "a@b.c"}),
        ("limit", "0", {"email": "a@b.c"}),
        ("limit", "101", {"email": "a@b.c"}),
        ("rows", "5000", {"email": "a@b.c"}),
        ("rows", "many", {"email": "a@b.c"}),
        ("email", None, {"role": "admin"}),  # left out
        ("email", "a\x00@b.c", {}),  # PostgreSQL text cannot hold NUL: once a 500
        ("email", "no-at-sign", {}),
    ],
)
async def test_bad_parameters_are_a_422_naming_the_parameter(
    client: httpx.AsyncClient, name: str, bad: str | None, beside: dict[str, str]
) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, name, bad, params=beside)
