"""No response of any endpoint in the app carries a user's password hash.

Walks the app's OpenAPI: every operation is called, a technique's variants at their
default parameters, any other route with the parameters it requires (its technique's
defaults where they share a name, else the smallest value its schema allows). A new
endpoint is covered without touching this test.
"""

import re
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.technique import Technique
from bench_app.techniques import all_techniques

HEX_TOKEN = re.compile(rb"[0-9a-f]{32}")


async def password_hashes(settings: Settings) -> set[str]:
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            sql = text(f"SELECT password_hash FROM {settings.db_schema}.users")
            return set((await conn.execute(sql)).scalars())
    finally:
        await engine.dispose()


def owner(path: str) -> Technique | None:
    """The technique whose router serves `path`."""
    for technique in all_techniques().values():
        routes = technique.router.routes
        if any(isinstance(route, APIRoute) and route.path == path for route in routes):
            return technique
    return None


def required_params(operation: dict[str, Any], technique: Technique | None) -> dict[str, Any]:
    defaults = dict(technique.params) if technique else {}
    found = {}
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "query" or not parameter.get("required"):
            continue
        name, schema = parameter["name"], parameter.get("schema", {})
        if name in defaults:
            found[name] = defaults[name]
        elif schema.get("type") == "integer":
            found[name] = schema.get("minimum", 1)
        else:
            found[name] = schema.get("enum", ["a"])[0]
    return found


def operations(app: FastAPI) -> list[tuple[str, str]]:
    """(method, URL) of every operation the app documents."""
    variant_urls = {
        technique.path(variant): technique.url(variant)
        for technique in all_techniques().values()
        for variant in technique.variants
    }
    found = []
    for path, methods in app.openapi()["paths"].items():
        for method, operation in methods.items():
            if path in variant_urls and method == "get":
                found.append((method, variant_urls[path]))
                continue
            query = httpx.QueryParams(required_params(operation, owner(path)))
            found.append((method, f"{path}?{query}" if query else path))
    return found


async def test_no_endpoint_answers_with_a_password_hash(
    app: FastAPI, client: httpx.AsyncClient, seeded: Settings
) -> None:
    hashes = await password_hashes(seeded)
    hex_digests = {value.rsplit("$", 1)[-1].encode() for value in hashes}
    assert len(hex_digests) > 100 and all(len(digest) == 32 for digest in hex_digests)
    called = operations(app)
    assert len(called) > 40  # every technique's variants and more
    for method, url in called:
        response = await client.request(method.upper(), url)
        assert response.status_code < 500, f"{method} {url}: {response.status_code}"
        body = response.content  # decoded, for the compressed variants
        # As a field; the column's name may appear in SQL text (/slow-queries), its values never.
        assert b'"password_hash":' not in body, url
        assert b"pbkdf2_sha256$" not in body, url
        leaked = hex_digests & set(HEX_TOKEN.findall(body))
        assert not leaked, f"{url} sends {len(leaked)} users' password hashes"
