"""/metrics: Prometheus' own parser reads it; routes are templates, never raw paths."""

import gc
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from bench_app.main import create_app
from bench_app.memory_limit import memory_available_bytes
from bench_app.metering import COST_HEADER
from bench_app.metrics import status_class
from bench_app.settings import Settings


async def scrape(client: httpx.AsyncClient) -> list[Sample]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return [
        sample
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]


def values(samples: list[Sample], name: str, **labels: str) -> list[float]:
    return [
        sample.value
        for sample in samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    ]


async def test_metrics_parse_and_name_routes_by_template(client: httpx.AsyncClient) -> None:
    for user_id in (3, 4, 5):
        assert (await client.get(f"/instrumentation/uninstrumented/users/{user_id}")).is_success
    assert (await client.get("/instrumentation/uninstrumented/users/999999999")).status_code == 404
    samples = await scrape(client)
    route = "/instrumentation/uninstrumented/users/{user_id}"
    ok = values(samples, "http_request_duration_seconds_count", route=route, status="2xx")
    assert ok and ok[0] >= 3
    assert values(samples, "http_request_duration_seconds_count", route=route, status="4xx")
    assert not any("/users/3" in value for s in samples for value in s.labels.values())
    assert values(samples, "pairbench_db_statements_total", route=route)[0] >= 4


async def test_metrics_cover_what_operators_watch(client: httpx.AsyncClient) -> None:
    await client.get("/batch-get/mget?users=5")  # a cache lookup per user
    samples = await scrape(client)
    names = {sample.name for sample in samples}
    for name in (
        "http_requests_in_flight",
        "pairbench_db_pool_checked_out",
        "pairbench_db_pool_overflow",
        "pairbench_db_pool_size",
        "pairbench_event_loop_lag_seconds",
        "pairbench_event_loop_lag_max_seconds",
        "process_resident_memory_bytes",
        "pairbench_cache_hits_total",
        "pairbench_cache_misses_total",
        "pairbench_db_seconds_total",
    ):
        assert name in names, name
    assert values(samples, "http_requests_in_flight") == [1.0]  # the scrape itself
    assert values(samples, "process_resident_memory_bytes")[0] > 10_000_000
    lookups = sum(values(samples, "pairbench_cache_hits_total", route="/batch-get/mget")) + sum(
        values(samples, "pairbench_cache_misses_total", route="/batch-get/mget")
    )
    assert lookups >= 5


async def test_openmetrics_when_the_scraper_asks(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics", headers={"accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    families = {family.name for family in openmetrics_families(response.text)}
    assert "http_request_duration_seconds" in families


def test_status_classes_are_bounded() -> None:
    assert [status_class(code) for code in (200, 204, 304, 404, 503, 99, 600)] == [
        "2xx",
        "2xx",
        "3xx",
        "4xx",
        "5xx",
        "other",
        "other",
    ]


@pytest.fixture
async def bare_app(seeded: Settings) -> AsyncIterator[FastAPI]:
    """The app with the meter and the metrics off: what the overhead is measured against."""
    app = create_app(seeded.model_copy(update={"meter": False, "metrics": False}))
    async with app.router.lifespan_context(app):
        yield app


async def test_with_meter_and_metrics_off_neither_is_served(bare_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=bare_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
        response = await client.get("/n-plus-one/joined?authors=2")
        assert response.status_code == 200
        assert COST_HEADER not in response.headers
        assert (await client.get("/metrics")).status_code == 404


async def test_gc_collections_and_pauses_per_generation(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    since = time.time()
    gc.collect(2)  # a full collection, as the app's own would be
    after = await scrape(client)
    for name in ("pairbench_gc_collections_total", "pairbench_gc_pause_seconds_total"):
        assert sorted(s.labels["generation"] for s in after if s.name == name) == ["0", "1", "2"]
    counted = values(after, "pairbench_gc_collections_total", generation="2")[0]
    assert counted >= values(before, "pairbench_gc_collections_total", generation="2")[0] + 1
    paused = values(after, "pairbench_gc_pause_seconds_total", generation="2")[0]
    assert paused > values(before, "pairbench_gc_pause_seconds_total", generation="2")[0]
    window = (await client.get("/gc-pauses", params={"since": since})).json()
    assert window["collections"] >= 1
    assert 0 < window["max_pause_ms"] <= window["pause_ms"]
    later = (await client.get("/gc-pauses", params={"since": time.time() + 5})).json()
    assert later == {"collections": 0, "pause_ms": 0.0, "max_pause_ms": 0.0}


async def test_memory_available_is_exported(client: httpx.AsyncClient) -> None:
    samples = await scrape(client)
    available = values(samples, "pairbench_memory_available_bytes")
    assert available == [float(memory_available_bytes())]
    assert values(samples, "process_resident_memory_bytes")[0] < available[0]
