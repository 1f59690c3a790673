"""The app in-process for the microbenchmarks: one event loop, one client, for the session.

Running every call through asyncio.run would time a new event loop per call; here one
loop lives for the session and each call is run on it. Servers come from
DATABASE_URL/REDIS_URL (what `pairbench run` passes) or are started embedded.
"""

import asyncio
from collections.abc import Iterator
from contextlib import AsyncExitStack

import httpx
import pytest

from bench_app.db import make_engine
from bench_app.main import create_app
from bench_app.seed import seed
from bench_app.settings import Settings
from pairbench.env.services import running_services


@pytest.fixture(scope="session")
def loop() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


async def _seed(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        await seed(engine, settings, log=lambda message: None)  # a no-op when already loaded
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def client(loop: asyncio.Runner) -> Iterator[httpx.AsyncClient]:
    """An httpx client on the app's ASGI interface, its lifespan entered once."""
    with running_services(log=lambda message: None) as urls:
        settings = Settings(database_url=urls.database_url, redis_url=urls.redis_url)
        loop.run(_seed(settings))
        app = create_app(settings)
        resources = AsyncExitStack()
        loop.run(resources.enter_async_context(app.router.lifespan_context(app)))
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://micro.test")
        try:
            yield client
        finally:
            loop.run(client.aclose())
            loop.run(resources.aclose())
