"""Checks every technique's tests share: the contract's bad input is rejected by every variant."""

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
