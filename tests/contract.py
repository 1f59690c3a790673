"""Checks every technique's tests share: every variant answers the contract, rejects bad input."""

from typing import Any

import httpx

from bench_app.technique import Technique


async def assert_every_variant_rejects(
    client: httpx.AsyncClient, technique: Technique, name: str, bad: str
) -> None:
    """Every variant answers `name=bad` with a 422 whose error names that query parameter."""
    for path in technique.paths.values():
        response = await client.get(f"{path}?{name}={bad}")
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", name]


async def assert_every_variant_answers(
    client: httpx.AsyncClient, technique: Technique, params: dict[str, Any], expected: Any
) -> dict[str, httpx.Response]:
    """Every variant answers `params` with a 200 whose JSON is `expected`; their responses."""
    found = {}
    for variant in technique.variants:
        response = await client.get(technique.url(variant, params))
        assert response.status_code == 200, response.text
        assert response.json() == expected, variant
        found[variant] = response
    return found
