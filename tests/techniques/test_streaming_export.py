"""streaming_export: the same CSV bytes either way; only streaming sends it as it is read."""

import asyncio
import csv
import io
import socket
import tracemalloc
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.metering import parse_cost_header
from bench_app.seed import EPOCH
from bench_app.settings import Settings
from bench_app.streamed_costs import WHOLE_COST_HEADER
from bench_app.techniques import all_techniques
from bench_app.techniques.streaming_export import (
    DAYS_HELD,
    ENTRIES_PER_DAY_PER_SCALE,
    HEADER,
    LEDGER,
    MAX_DOWNLOADS,
)
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of
from tests.served import served

TECHNIQUE = all_techniques()["streaming_export"]


async def ledger_since(settings: Settings, days: int) -> list[tuple[Any, ...]]:
    """The contract's rows, read independently in plain SQL."""
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                text(
                    f"SELECT {', '.join(HEADER)} FROM {LEDGER.schema}.{LEDGER.name}"
                    " WHERE booked_at >= :since ORDER BY booked_at, id"
                ),
                {"since": EPOCH - timedelta(days=days)},
            )
            return [tuple(row) for row in result]
    finally:
        await engine.dispose()


def parsed(body: bytes) -> tuple[list[str], list[tuple[Any, ...]]]:
    header, *lines = csv.reader(io.StringIO(body.decode(), newline=""))
    rows = [
        (int(n), datetime.fromisoformat(at), account, party, int(cents), currency, memo)
        for n, at, account, party, cents, currency, memo in lines
    ]
    return header, rows


@pytest.mark.parametrize("days", [1, 7, 30])
async def test_every_variant_sends_the_same_csv_of_the_contracts_rows(
    client: httpx.AsyncClient, seeded: Settings, days: int
) -> None:
    bodies = {}
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, {"days": days}))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        bodies[variant] = response.content
    assert bodies["streaming"] == bodies["naive"]
    header, rows = parsed(bodies["naive"])
    assert header == HEADER
    assert rows == await ledger_since(seeded, days)
    assert len(rows) == days * ENTRIES_PER_DAY_PER_SCALE * round(seeded.scale)
    assert b'"Umbrella, Ltd."' in bodies["naive"]  # quoting is exercised


async def test_only_the_naive_variant_knows_its_length_and_rows_before_sending(
    client: httpx.AsyncClient,
) -> None:
    days = 3
    naive = await client.get(TECHNIQUE.url("naive", {"days": days}))
    streaming = await client.get(TECHNIQUE.url("streaming", {"days": days}))
    assert int(naive.headers["content-length"]) == len(naive.content)
    assert "content-length" not in streaming.headers  # sent as it is produced
    rows = days * ENTRIES_PER_DAY_PER_SCALE
    assert (costs_of(naive)["queries"], costs_of(naive)["rows"]) == ("1", str(rows))
    # The streaming variant's header leaves with its first byte: the cursor opened, its rows
    # not yet all read (its whole costs come after its body).
    assert costs_of(streaming)["queries"] == "1" and int(costs_of(streaming)["rows"]) < rows


@pytest.mark.parametrize("days", [1, 3])
async def test_a_streamed_exports_whole_costs_count_every_row_it_sent(
    client: httpx.AsyncClient, days: int
) -> None:
    streaming = await client.get(TECHNIQUE.url("streaming", {"days": days}))
    _, rows = parsed(streaming.content)
    whole_cost_path = streaming.headers[WHOLE_COST_HEADER]
    whole = await client.get(whole_cost_path)
    assert whole.status_code == 200, whole.text
    costs = parse_cost_header(whole.json()["cost"])
    assert (costs["queries"], costs["rows"]) == ("1", str(len(rows)))
    assert float(costs["app_ms"]) >= float(costs_of(streaming)["app_ms"])
    assert (await client.get(whole_cost_path)).status_code == 404  # read once
    naive = await client.get(TECHNIQUE.url("naive", {"days": days}))
    assert WHOLE_COST_HEADER not in naive.headers  # its header's costs are whole already


@pytest.mark.parametrize("bad", ["0", str(DAYS_HELD + 1), "-1", "many", "1.5"])
async def test_bad_days_is_a_422_naming_the_parameter(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "days", bad)


async def test_the_openapi_declares_csv_and_the_bounds_of_days(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    for path in TECHNIQUE.paths.values():
        operation = schema["paths"][path]["get"]
        assert "text/csv" in operation["responses"]["200"]["content"]
        assert "422" in operation["responses"]
        (days,) = [p for p in operation["parameters"] if p["name"] == "days"]
        assert (days["schema"]["minimum"], days["schema"]["maximum"]) == (1, DAYS_HELD)


async def download_peak_mb(base_url: str, url: str) -> tuple[float, int]:
    """Python's peak traced memory while `url` is served and read chunk by chunk, and its size."""
    size = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:
        tracemalloc.start()
        try:
            async with http.stream("GET", url) as response:
                async for chunk in response.aiter_raw():
                    size += len(chunk)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return peak / 2**20, size


@pytest.mark.slow
async def test_streaming_holds_a_batch_where_naive_holds_the_whole_export(app: FastAPI) -> None:
    async with served(app) as base_url:
        naive_mb, size = await download_peak_mb(base_url, TECHNIQUE.url("naive", {"days": 100}))
        streaming_mb, same = await download_peak_mb(
            base_url, TECHNIQUE.url("streaming", {"days": 100})
        )
    export_mb = size / 2**20
    assert same == size and export_mb > 5
    assert naive_mb > 3 * export_mb  # rows, their text and the body, all at once
    assert streaming_mb < export_mb / 2  # a batch of rows and its text at a time


async def first_chunk(http: httpx.AsyncClient, url: str, started: asyncio.Event) -> None:
    """Start a download, read its first chunk, then stop reading (a stalled client)."""
    async with http.stream("GET", url) as response:
        chunks = response.aiter_raw()  # kept: a collected iterator would close the response
        await anext(chunks)
        started.set()
        await asyncio.Event().wait()  # until cancelled: the client hangs up


# Only keeps a broken test from hanging: nothing here ends by waiting. A starved pool would
# fail /health by itself (the pool's checkout timeout, 30 s, then an error status); on a
# machine as busy as 8 test runs on 2 cores an answer took over 10 s, so the bound is wide.
HANG_GUARD_S = 120.0


@pytest.mark.slow
async def test_stalled_downloads_leave_the_pool_to_everyone_else(app: FastAPI) -> None:
    pool = app.state.engine.pool
    url = TECHNIQUE.url("streaming", {"days": DAYS_HELD})  # ~9 MB: more than the buffers hold
    # Small buffers on both ends make a download stall within a few chunks of its first, as
    # a slow client's network would. Autotuning would grow the client's receive buffer to
    # tens of MB and the server's send buffer to 4 MB: each "stalled" download went on
    # reading and formatting 4 MB of rows, 40 MB in all, on the event loop /health needs.
    small_receive = [(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)]
    small_send = [(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)]
    transport = httpx.AsyncHTTPTransport(
        socket_options=small_receive, limits=httpx.Limits(max_connections=MAX_DOWNLOADS + 10)
    )
    async with served(app, small_send) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=60, transport=transport) as http:
            started = [asyncio.Event() for _ in range(MAX_DOWNLOADS + 2)]
            downloads = [asyncio.create_task(first_chunk(http, url, event)) for event in started]
            try:
                async with asyncio.timeout(HANG_GUARD_S):
                    while sum(event.is_set() for event in started) < MAX_DOWNLOADS:
                        await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
                # The downloads past the limit wait for a slot; the others each hold a connection.
                assert sum(event.is_set() for event in started) == MAX_DOWNLOADS
                assert pool.checkedout() == MAX_DOWNLOADS
                async with asyncio.timeout(HANG_GUARD_S):
                    health = await http.get("/health")
                    naive = await http.get(TECHNIQUE.url("naive", {"days": 1}))
                assert health.status_code == 200 and naive.status_code == 200
                # No download ends until it is cancelled, so these were served beside them, on
                # connections of their own: every download still holds its own.
                assert not any(download.done() for download in downloads)
                assert pool.checkedout() == MAX_DOWNLOADS
            finally:  # even when an assertion failed: no download outlives the test
                for download in downloads:
                    download.cancel()
                await asyncio.gather(*downloads, return_exceptions=True)
        async with asyncio.timeout(HANG_GUARD_S):  # hung-up downloads give their connections back
            while pool.checkedout():
                await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            assert (await http.get(TECHNIQUE.url("streaming", {"days": 1}))).status_code == 200
    assert pool.checkedout() == 0
