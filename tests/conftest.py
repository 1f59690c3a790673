"""Shared fixtures: real PostgreSQL and Redis (DATABASE_URL/REDIS_URL, else embedded ones)."""

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from bench_app.db import make_engine
from bench_app.main import create_app
from bench_app.seed import seed
from bench_app.settings import Settings
from pairbench.env.services import ServiceUrls, running_services
from pairbench.env.upstream import Upstream, running_upstream
from tests.worker_isolation import isolate_worker

TEST_SCALE = 1.0  # 1000 users: enough for n_plus_one's largest `authors`


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, each worker its own databases (tests/worker_isolation.py)."""
    isolate_worker(os.environ)


@pytest.fixture(scope="session")
def service_urls() -> Iterator[ServiceUrls]:
    with running_services(log=lambda message: None) as urls:
        yield urls


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """The upstream stub in its own process, as the harness runs it."""
    log_path = tmp_path_factory.mktemp("upstream") / "upstream.log"
    with running_upstream(log_path, log=lambda message: None) as stub:
        yield stub


@pytest.fixture(scope="session")
def settings(service_urls: ServiceUrls, upstream: Upstream) -> Settings:
    return Settings(
        database_url=service_urls.database_url,
        redis_url=service_urls.redis_url,
        upstream_url=upstream.url,
        scale=TEST_SCALE,
    )


@pytest.fixture(scope="session")
async def seeded(settings: Settings) -> Settings:
    engine = make_engine(settings)
    try:
        await seed(engine, settings, log=lambda message: None)
    finally:
        await engine.dispose()
    return settings


@pytest.fixture(scope="session")
async def app(seeded: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(seeded)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
        yield client
