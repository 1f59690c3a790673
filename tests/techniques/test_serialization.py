"""serialization: the same JSON bytes from every variant, each by the path it claims."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, routing
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.techniques import all_techniques
from bench_app.techniques.serialization import PublicProfile
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["serialization"]
PROFILE_FIELDS = "id, email, first_name, last_name, role, is_active, bio"


async def expected_body(settings: Settings, rows: int) -> bytes:
    """The contract's bytes, computed independently: compact JSON of the public fields."""
    engine = make_engine(settings)
    sql = f"SELECT {PROFILE_FIELDS} FROM {settings.db_schema}.users ORDER BY id LIMIT :n"
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(text(sql), {"n": rows})).mappings().all()
    finally:
        await engine.dispose()
    return json.dumps([dict(row) for row in found], separators=(",", ":")).encode()


@pytest.mark.parametrize("rows", [1, 10, 1000])
async def test_every_variant_sends_the_contracts_bytes(
    client: httpx.AsyncClient, seeded: Settings, rows: int
) -> None:
    expected = await expected_body(seeded, rows)
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, {"rows": rows}))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json", variant
        assert response.content == expected, variant  # byte for byte, not only the same JSON
        assert costs_of(response)["queries"] == "1", variant
        assert b"password_hash" not in response.content and b"pbkdf2" not in response.content


class Calls:
    """How often FastAPI's jsonable_encoder and the stdlib's json.dumps ran."""

    def __init__(self) -> None:
        self.jsonable_encoder = 0
        self.json_dumps = 0


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    counted = Calls()
    encode, dumps = routing.jsonable_encoder, json.dumps

    def counting_encoder(*args: Any, **kwargs: Any) -> Any:
        counted.jsonable_encoder += 1
        return encode(*args, **kwargs)

    def counting_dumps(*args: Any, **kwargs: Any) -> str:
        counted.json_dumps += 1
        return dumps(*args, **kwargs)

    monkeypatch.setattr(routing, "jsonable_encoder", counting_encoder)
    monkeypatch.setattr(json, "dumps", counting_dumps)
    yield counted


@pytest.mark.parametrize(
    ("variant", "through_python"),
    [("naive", True), ("response_model", False), ("orjson_unvalidated", False)],
)
async def test_each_variant_serializes_the_way_it_says(
    client: httpx.AsyncClient, calls: Calls, variant: str, through_python: bool
) -> None:
    response = await client.get(TECHNIQUE.url(variant, {"rows": 5}))
    assert response.status_code == 200
    assert (calls.jsonable_encoder, calls.json_dumps) == ((1, 1) if through_python else (0, 0))


async def test_an_explicit_json_response_class_turns_the_rust_path_off(calls: Calls) -> None:
    # What the caveats claim of FastAPI >= 0.130: the same model, response_class=JSONResponse.
    app = FastAPI()
    profile = {"id": 1, "email": "a@b.c", "first_name": "A", "last_name": "B", "role": "x"}
    profile |= {"is_active": True, "bio": ""}

    @app.get("/default", response_model=list[PublicProfile])
    async def default() -> Any:
        return [profile]

    @app.get("/explicit", response_model=list[PublicProfile], response_class=JSONResponse)
    async def explicit() -> Any:
        return [profile]

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as demo:
        assert (await demo.get("/default")).json() == [profile]
        assert calls.json_dumps == 0
        assert (await demo.get("/explicit")).json() == [profile]
        assert calls.json_dumps == 1


async def test_the_openapi_declares_the_bounds_and_the_model(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for variant, path in TECHNIQUE.paths.items():
        operation = spec["paths"][path]["get"]
        [parameter] = operation["parameters"]
        assert parameter["name"] == "rows"
        assert (parameter["schema"]["minimum"], parameter["schema"]["maximum"]) == (1, 1000)
        assert "422" in operation["responses"]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        # The naive variant declares no model: its schema says nothing of its fields.
        assert ("items" in schema) == (variant != "naive"), variant
    assert "password_hash" not in spec["components"]["schemas"]["PublicProfile"]["properties"]


@pytest.mark.parametrize("bad", ["0", "1001", "-1", "all", "2.5"])
async def test_bad_rows_is_a_422_naming_the_parameter(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "rows", bad)
