"""/health says ready only when PostgreSQL answers, and a clear, declared 503 when not."""

import socket

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_health_is_a_declared_503_while_postgresql_cannot_be_reached(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    up = await client.get("/health")
    assert up.status_code == 200 and up.json()["status"] == "ok"

    engine = app.state.engine
    dead = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/test")
    app.state.engine = dead
    try:
        down = await client.get("/health")
    finally:
        app.state.engine = engine
        await dead.dispose()
    assert down.status_code == 503, down.text
    assert "PostgreSQL could not be reached" in down.json()["detail"]
    declared = app.openapi()["paths"]["/health"]["get"]["responses"]
    assert "503" in declared and (await client.get("/health")).status_code == 200
