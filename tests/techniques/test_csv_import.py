"""csv_import: both variants store the same rows all or nothing; only streaming holds little."""

import asyncio
import csv
import hashlib
import io
import math
import re
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from bench_app.db import make_engine
from bench_app.payment_uploads import payments_csv
from bench_app.settings import Settings
from bench_app.techniques import all_techniques, csv_import
from bench_app.techniques.csv_import import PAYMENTS, ROWS_PER_COPY
from pairbench.load.effects import Services
from pairbench.load.equivalence import check_equivalence
from pairbench.load.probe import probe_variant
from tests.costs import costs_of
from tests.served import served

TECHNIQUE = all_techniques()["csv_import"]
EMPTY_MD5 = hashlib.md5(b"").hexdigest()


def expected_receipt(body: bytes) -> dict[str, Any]:
    """The answer for an upload, computed from the file alone (the checksum as the SQL does)."""
    _, *lines = csv.reader(io.StringIO(body.decode(), newline=""))
    joined = "\n".join("|".join([str(line), *fields]) for line, fields in enumerate(lines, start=2))
    return {
        "rows": len(lines),
        "amount_cents": sum(int(fields[3]) for fields in lines),
        "checksum": hashlib.md5(joined.encode()).hexdigest(),
    }


async def stored_rows(settings: Settings) -> int:
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(PAYMENTS)) or 0)
    finally:
        await engine.dispose()


async def upload(
    client: httpx.AsyncClient, variant: str, body: bytes, rows: int | None = None
) -> httpx.Response:
    count = rows if rows is not None else body.count(b"\n") - 1
    url = TECHNIQUE.url(variant, {"rows": count})
    return await client.post(url, content=body, headers={"content-type": "text/csv"})


@pytest.fixture
async def empty_table(client: httpx.AsyncClient, seeded: Settings) -> Settings:
    assert (await client.post(TECHNIQUE.reset_path or "")).status_code == 200
    assert await stored_rows(seeded) == 0
    return seeded


@pytest.mark.parametrize("rows", [1, 7, ROWS_PER_COPY + 1, 12_000])
async def test_every_variant_stores_the_upload_and_answers_alike(
    client: httpx.AsyncClient, empty_table: Settings, rows: int
) -> None:
    body = payments_csv(rows)
    for variant in TECHNIQUE.variants:
        response = await upload(client, variant, body)
        assert response.status_code == 200, response.text
        assert response.json() == expected_receipt(body), variant
    assert await stored_rows(empty_table) == rows * len(TECHNIQUE.variants)


@pytest.mark.parametrize("rows", [5, ROWS_PER_COPY, 2 * ROWS_PER_COPY + 3])
async def test_statements_per_request(client: httpx.AsyncClient, rows: int) -> None:
    body = payments_csv(rows)
    expected = {"naive": 2, "streaming": math.ceil(rows / ROWS_PER_COPY) + 1}  # + the checksum
    for variant, queries in expected.items():
        response = await upload(client, variant, body)
        assert int(costs_of(response)["queries"]) == queries, variant


def with_line(rows: int, line: int, text: str) -> bytes:
    """The generated upload with its line `line` (1 = the header) replaced by `text`."""
    lines = payments_csv(rows).decode().split("\r\n")
    lines[line - 1] = text
    return "\r\n".join(lines).encode()


MALFORMED = {
    "an amount that is no integer": (with_line(9, 4, '3,2026-04-04,Hooli,12.50,""'), 4),
    "too few fields": (with_line(9, 3, "2,2026-03-03,Globex,7"), 3),
    "a date that is no date": (with_line(9, 6, "5,2026-13-01,Globex,7,ref"), 6),
    "an empty payer": (with_line(9, 2, "1,2026-02-02,,7,ref"), 2),
    "a quote left open": (with_line(9, 5, '4,2026-05-05,"Acme,7,ref'), 5),
    "a wrong header": (with_line(9, 1, "id,date,payer,amount_cents,reference"), 1),
    "invalid UTF-8": (with_line(9, 7, "6,2026-07-07,Hooli,7,BAD").replace(b"BAD", b"\xff"), 7),
    # After the first COPY batch: the streaming variant must roll back what it copied.
    "a bad line past the first batch": (
        with_line(ROWS_PER_COPY + 900, ROWS_PER_COPY + 500, "x,2026-01-01,Hooli,1,ref"),
        ROWS_PER_COPY + 500,
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
async def test_a_line_that_cannot_be_stored_is_a_422_naming_it_and_nothing_is_kept(
    client: httpx.AsyncClient, empty_table: Settings, case: str
) -> None:
    body, line = MALFORMED[case]
    for variant in TECHNIQUE.variants:
        response = await upload(client, variant, body)
        assert response.status_code == 422, (variant, response.text)
        (detail,) = response.json()["detail"]
        assert detail["loc"] == ["body", line], variant
        assert detail["msg"].startswith(f"line {line}: "), variant
    assert await stored_rows(empty_table) == 0


@pytest.mark.parametrize("body", [b"", b"id,booked_on,payer,amount_cents,reference\r\n"])
async def test_an_upload_without_payments_is_an_empty_import(
    client: httpx.AsyncClient, empty_table: Settings, body: bytes
) -> None:
    for variant in TECHNIQUE.variants:
        response = await upload(client, variant, body)
        assert response.status_code == 200, response.text
        assert response.json() == {"rows": 0, "amount_cents": 0, "checksum": EMPTY_MD5}
    assert await stored_rows(empty_table) == 0


async def test_an_upload_must_declare_its_size_within_the_limit(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unsized() -> AsyncIterator[bytes]:
        yield payments_csv(1)

    for variant in TECHNIQUE.variants:
        response = await client.post(TECHNIQUE.url(variant, {"rows": 1}), content=unsized())
        assert response.status_code == 411, response.text
    monkeypatch.setattr(csv_import, "MAX_UPLOAD_BYTES", 100)
    for variant in TECHNIQUE.variants:
        response = await upload(client, variant, payments_csv(5))
        assert response.status_code == 413, response.text


async def test_the_reset_empties_the_table(client: httpx.AsyncClient, seeded: Settings) -> None:
    await upload(client, "streaming", payments_csv(3))
    assert await stored_rows(seeded) > 0
    assert (await client.post(TECHNIQUE.reset_path or "")).status_code == 200
    assert await stored_rows(seeded) == 0


async def test_the_openapi_declares_the_upload_and_its_errors(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    for path in TECHNIQUE.paths.values():
        operation = schema["paths"][path]["post"]
        pattern = re.compile(operation["requestBody"]["content"]["text/csv"]["schema"]["pattern"])
        assert pattern.match(payments_csv(300).decode())  # what the harness sends is valid
        assert not pattern.match(with_line(3, 2, "1,2026-02-30,Hooli,7,ref").decode())
        assert not pattern.match("id,amount\r\n1,2\r\n")
        assert {"200", "411", "413", "422"} <= set(operation["responses"])
        assert not operation.get("parameters")  # `rows` only sizes what the harness sends


async def test_the_harness_posts_the_techniques_body_to_check_and_probe(
    app: FastAPI, seeded: Settings
) -> None:
    params = {"rows": 300}
    services = Services(seeded.redis_url, seeded.database_url)
    async with served(app) as base_url:

        def check_and_probe() -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
            with httpx.Client(base_url=base_url, timeout=60) as http:
                verdicts = check_equivalence(http, TECHNIQUE, params, services)
                probed = probe_variant(http, TECHNIQUE, "streaming", params, 2, budget_s=30)
            return verdicts, probed

        verdicts, probed = await asyncio.to_thread(check_and_probe)
    assert all(verdict["equivalent"] for verdict in verdicts.values()), verdicts
    assert verdicts["streaming"]["detail"] == "same answer as naive"
    assert len(probed) == 2 and all(row["queries"] == 2 for row in probed)
    assert all(row["ttfb_ms"] <= row["latency_ms"] for row in probed)


async def upload_peak_mb(base_url: str, variant: str, body: bytes) -> float:
    """Python's peak traced memory while the upload is sent, stored and answered."""
    url = TECHNIQUE.url(variant, {"rows": body.count(b"\n") - 1})

    async def in_slices() -> AsyncIterator[bytes]:  # the client sends, never copies, the body
        view = memoryview(body)
        for start in range(0, len(body), 64 * 1024):
            yield bytes(view[start : start + 64 * 1024])

    size = {"content-length": str(len(body))}
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:
        tracemalloc.start()
        try:
            response = await http.post(url, content=in_slices(), headers=size)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert response.status_code == 200, response.text
    return peak / 2**20


@pytest.mark.slow
async def test_streaming_holds_a_chunk_and_a_batch_where_naive_holds_everything(
    app: FastAPI, empty_table: Settings
) -> None:
    body = payments_csv(120_000)
    upload_mb = len(body) / 2**20
    async with served(app) as base_url:
        naive_mb = await upload_peak_mb(base_url, "naive", body)
        streaming_mb = await upload_peak_mb(base_url, "streaming", body)
    assert upload_mb > 9, upload_mb
    # Naive: the body, its text, every parsed row and their dicts. Streaming: a chunk, a batch.
    assert naive_mb > 3 * upload_mb, (naive_mb, upload_mb)
    assert streaming_mb < upload_mb / 2, (streaming_mb, upload_mb)
