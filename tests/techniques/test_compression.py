"""compression: same decoded body from every variant; the bytes on the wire are exact."""

import json
import zlib
from typing import Any

import brotli
import httpx
import pytest
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.metering import COST_HEADER
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from bench_app.techniques.compression import CLIENT_ACCEPT_ENCODING
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["compression"]
FIRST_POSTS = (
    "SELECT id, author_id, title, body, created_at FROM {schema}.posts ORDER BY id LIMIT :n"
)
ENCODINGS = {"plain": None, "gzip_level9": "gzip", "gzip_level6": "gzip", "brotli_quality4": "br"}


def gzip_bytes(body: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()


ENCODERS = {  # each variant's body, encoded independently with the same codec and level
    "plain": lambda body: body,
    "gzip_level9": lambda body: gzip_bytes(body, 9),
    "gzip_level6": lambda body: gzip_bytes(body, 6),
    "brotli_quality4": lambda body: brotli.compress(body, quality=4),
}


async def expected_body(settings: Settings, posts: int) -> list[dict[str, Any]]:
    """The contract's answer, computed independently."""
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            sql = text(FIRST_POSTS.format(schema=settings.db_schema))
            rows = (await conn.execute(sql, {"n": posts})).all()
    finally:
        await engine.dispose()
    return [
        {
            "id": row.id,
            "author_id": row.author_id,
            "title": row.title,
            "body": row.body,
            "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
        }
        for row in rows
    ]


async def fetch_raw(
    client: httpx.AsyncClient, url: str, accept_encoding: str
) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent, before any decoding."""
    async with client.stream("GET", url, headers={"Accept-Encoding": accept_encoding}) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, raw


@pytest.mark.parametrize("posts", [1, 7, 100])
async def test_every_variant_decodes_to_the_contracts_answer(
    client: httpx.AsyncClient, seeded: Settings, posts: int
) -> None:
    expected = await expected_body(seeded, posts)
    assert len(expected) == posts
    bodies = set()
    for variant in TECHNIQUE.variants:
        headers = {"Accept-Encoding": CLIENT_ACCEPT_ENCODING}
        response = await client.get(TECHNIQUE.url(variant, {"posts": posts}), headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers.get("content-encoding") == ENCODINGS[variant], variant
        assert response.json() == expected, variant
        bodies.add(response.content)
    assert len(bodies) == 1  # the same bytes once decoded


@pytest.mark.parametrize("posts", [1, 10, 1000])
async def test_the_meter_gives_the_exact_bytes_before_and_after_encoding(
    client: httpx.AsyncClient, posts: int
) -> None:
    _, plain_body = await fetch_raw(client, TECHNIQUE.url("plain", {"posts": posts}), "identity")
    wire = {}
    for variant in TECHNIQUE.variants:
        url = TECHNIQUE.url(variant, {"posts": posts})
        response, raw = await fetch_raw(client, url, CLIENT_ACCEPT_ENCODING)
        assert raw == ENCODERS[variant](plain_body), variant
        assert int(costs_of(response)["body_bytes"]) == len(plain_body), variant
        assert int(costs_of(response)["wire_bytes"]) == len(raw), variant
        assert int(response.headers["content-length"]) == len(raw), variant
        assert float(costs_of(response)["encode_ms"]) >= 0, variant
        wire[variant] = len(raw)
    assert wire["plain"] > 2 * max(wire[variant] for variant in ENCODERS if variant != "plain")


async def test_a_client_that_accepts_no_encoding_gets_the_body_plain(
    client: httpx.AsyncClient,
) -> None:
    for variant in TECHNIQUE.variants:
        response, raw = await fetch_raw(client, TECHNIQUE.url(variant), "identity")
        assert "content-encoding" not in response.headers, variant
        assert costs_of(response)["wire_bytes"] == costs_of(response)["body_bytes"] == str(len(raw))


async def test_the_brotli_variant_serves_brotli_or_nothing(client: httpx.AsyncClient) -> None:
    url = TECHNIQUE.url("brotli_quality4")
    response, _ = await fetch_raw(client, url, "gzip, deflate, br, zstd")
    assert response.headers["content-encoding"] == "br"  # not zstd, though offered
    response, _ = await fetch_raw(client, url, "gzip")
    assert "content-encoding" not in response.headers  # not gzip: plain


async def test_only_encoding_routes_meter_encoding(client: httpx.AsyncClient) -> None:
    response = await client.get("/n-plus-one/joined?authors=3")
    costs = costs_of(response)
    for field in ("body_bytes", "wire_bytes", "encode_ms"):
        assert costs[field] == "", field  # not metered, rather than a false 0
        assert field not in response.headers[COST_HEADER], field
    assert "content-encoding" not in response.headers


async def test_the_openapi_declares_the_bounds(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path in TECHNIQUE.paths.values():
        [parameter] = spec["paths"][path]["get"]["parameters"]
        assert parameter["name"] == "posts"
        assert (parameter["schema"]["minimum"], parameter["schema"]["maximum"]) == (1, 2000)
        assert "422" in spec["paths"][path]["get"]["responses"]


@pytest.mark.parametrize("bad", ["0", "2001", "-1", "many", "2.5"])
async def test_bad_posts_is_a_422_naming_the_parameter(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "posts", bad)


def test_the_sweep_spans_1_kb_to_1_mb_of_json() -> None:
    # About 1.1 KB of JSON a post: the sweep's bodies run from one packet to a megabyte.
    assert TECHNIQUE.sweep == {"posts": [1, 10, 100, 1000]}
    assert json.dumps(TECHNIQUE.params) == '{"posts": 10}'
