"""Each pytest-xdist worker gets a PostgreSQL database and a Redis database of its own.

`make test` runs the tests in parallel worker processes (pytest-xdist). They seed, reset
and flush what they use, so two workers must never share a database: worker gwN of
DATABASE_URL .../test uses .../test_gwN (created when missing), and of REDIS_URL .../0
uses Redis database N + 1. Unset URLs stay unset: each worker then starts embedded
servers of its own, as a run does.
"""

import asyncio
from collections.abc import MutableMapping
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from pairbench.env.services import normalize_database_url

REDIS_DATABASES = 16  # Redis' stock `databases`


def isolate_worker(environ: MutableMapping[str, str]) -> None:
    """Point this worker's DATABASE_URL and REDIS_URL at its own databases."""
    worker = environ.get("PYTEST_XDIST_WORKER", "")
    if not worker:
        return
    index = int(worker.removeprefix("gw"))
    if database_url := environ.get("DATABASE_URL", "").strip():
        environ["DATABASE_URL"] = own_database(database_url, worker)
    if redis_url := environ.get("REDIS_URL", "").strip():
        environ["REDIS_URL"] = own_redis_database(redis_url, index)


def own_database(url: str, worker: str) -> str:
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_{worker}"
    asyncio.run(_create_database(url, name))
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _create_database(url: str, name: str) -> None:
    dsn = normalize_database_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def own_redis_database(url: str, index: int) -> str:
    parts = urlsplit(url)
    database = int(parts.path.lstrip("/") or 0) + 1 + index
    if database >= REDIS_DATABASES:
        raise RuntimeError(
            f"REDIS_URL {url!r}: test worker {index} would need Redis database {database}, "
            f"past the stock {REDIS_DATABASES}; use a lower database or fewer workers (-n)"
        )
    return urlunsplit(parts._replace(path=f"/{database}"))
