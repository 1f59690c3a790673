"""bulk_insert: every variant stores the same rows, at its stated statement count, and cleans up."""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.techniques import all_techniques, bulk_insert
from bench_app.techniques.bulk_insert import LINES, MAX_ROWS, BatchReceipt, order_lines
from pairbench.env.server import app_environment, running_app
from pairbench.env.services import ServiceUrls
from pairbench.load.measure import reset
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["bulk_insert"]


def expected_receipt(rows: int) -> dict[str, int]:
    lines = order_lines(uuid4(), rows)
    return {
        "rows": rows,
        "units": sum(line["quantity"] for line in lines),
        "total_cents": sum(line["quantity"] * line["unit_price_cents"] for line in lines),
    }


async def rows_in_table(settings: Settings) -> int:
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(LINES)) or 0)
    finally:
        await engine.dispose()


@pytest.fixture
def stored_batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[dict[str, Any]]]]:
    """Each request's rows as the table held them just before the cleanup removed them."""
    seen: list[list[dict[str, Any]]] = []
    remove_batch = bulk_insert.remove_batch

    async def snapshot_then_remove(session: AsyncSession, batch: UUID) -> BatchReceipt:
        query = select(LINES).where(LINES.c.batch_id == batch).order_by(LINES.c.position)
        rows = (await session.execute(query)).all()
        seen.append([{**row._mapping, "batch_id": None} for row in rows])
        return await remove_batch(session, batch)

    monkeypatch.setattr(bulk_insert, "remove_batch", snapshot_then_remove)
    yield seen


@pytest.mark.parametrize("rows", [1, 7, 100])
async def test_every_variant_stores_the_same_rows_and_answers_alike(
    client: httpx.AsyncClient,
    seeded: Settings,
    stored_batches: list[list[dict[str, Any]]],
    rows: int,
) -> None:
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, {"rows": rows}))
        assert response.status_code == 200, response.text
        assert response.json() == expected_receipt(rows), variant
    expected_rows = [{**line, "batch_id": None} for line in order_lines(uuid4(), rows)]
    assert stored_batches == [expected_rows] * len(TECHNIQUE.variants)
    assert await rows_in_table(seeded) == 0  # each request removed its own batch


@pytest.mark.parametrize("rows", [5, 50])
async def test_statements_per_request(client: httpx.AsyncClient, rows: int) -> None:
    expected_queries = {"row_by_row": rows + 1, "batched": 2, "copy": 2}
    for variant, queries in expected_queries.items():
        response = await client.get(TECHNIQUE.url(variant, {"rows": rows}))
        assert int(costs_of(response)["queries"]) == queries, variant
        assert int(costs_of(response)["rows"]) == 1, variant  # the cleanup's answer


async def leave_rows_behind(settings: Settings, rows: int) -> None:
    """What an interrupted request would leave in the table."""
    engine = make_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.execute(LINES.insert(), order_lines(uuid4(), rows))
    finally:
        await engine.dispose()


async def test_reset_empties_the_table(client: httpx.AsyncClient, seeded: Settings) -> None:
    await leave_rows_behind(seeded, 25)
    assert await rows_in_table(seeded) == 25
    response = await client.post(TECHNIQUE.reset_path or "")
    assert response.status_code == 200 and response.json() == {"unfinished": 0}
    assert await rows_in_table(seeded) == 0


@pytest.mark.slow
async def test_the_runners_reset_reaches_the_served_app(
    seeded: Settings, service_urls: ServiceUrls, tmp_path: Path
) -> None:
    await leave_rows_behind(seeded, 3)
    environment = app_environment(service_urls.database_url, service_urls.redis_url, seeded.scale)
    with running_app(environment, tmp_path / "server.log", log=lambda message: None) as url:
        with httpx.Client(base_url=url) as harness_client:
            await asyncio.to_thread(reset, harness_client, TECHNIQUE)
    assert await rows_in_table(seeded) == 0


async def test_reset_waits_for_a_batch_still_being_written(client: httpx.AsyncClient) -> None:
    rows = 300
    writing = asyncio.create_task(client.get(TECHNIQUE.url("row_by_row", {"rows": rows})))
    while bulk_insert.IN_FLIGHT.count == 0 and not writing.done():
        await asyncio.sleep(0.005)
    reset = await client.post(TECHNIQUE.reset_path or "")
    assert writing.done() and reset.json() == {"unfinished": 0}
    # Had the reset truncated mid-batch, the batch's own answer would have missed rows.
    assert (await writing).json() == expected_receipt(rows)


@pytest.mark.parametrize("bad", ["0", str(MAX_ROWS + 1), "-3", "many", "2.5"])
async def test_bad_rows_is_a_422_naming_the_parameter(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "rows", bad)
