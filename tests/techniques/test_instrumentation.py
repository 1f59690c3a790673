"""instrumentation: one answer; naive's series grow with distinct paths, optimized's do not."""

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from bench_app.db import make_engine
from bench_app.settings import Settings
from bench_app.streamed_costs import WHOLE_COST_HEADER
from bench_app.techniques import all_techniques
from bench_app.techniques.instrumentation import (
    RAW_PATH_REGISTRY,
    REGISTRIES,
    ROUTE_TEMPLATE_REGISTRY,
    series_count,
)
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["instrumentation"]


async def expected_user(settings: Settings, user_id: int) -> dict[str, object]:
    engine = make_engine(settings)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        f"SELECT id, first_name, last_name FROM {settings.db_schema}.users "
                        "WHERE id = :id"
                    ),
                    {"id": user_id},
                )
            ).one()
    finally:
        await engine.dispose()
    return {"id": row.id, "first_name": row.first_name, "last_name": row.last_name}


def unseen_ids(count: int) -> list[int]:
    """User ids whose raw path the naive histogram has no label set for yet."""
    seen = {
        sample.labels.get("path", "")
        for metric in RAW_PATH_REGISTRY.collect()
        for sample in metric.samples
    }
    candidates = (user_id for user_id in range(1, 1001))
    return [
        user_id
        for user_id in candidates
        if TECHNIQUE.url("naive", {"user_id": user_id}) not in seen
    ][:count]


async def series(client: httpx.AsyncClient) -> dict[str, dict[str, int]]:
    response = await client.get("/instrumentation/series")
    assert response.status_code == 200
    found: dict[str, dict[str, int]] = response.json()
    return found


@pytest.mark.parametrize("user_id", [1, 42, 1000])
async def test_every_variant_returns_the_contracts_answer(
    client: httpx.AsyncClient, seeded: Settings, user_id: int
) -> None:
    expected = await expected_user(seeded, user_id)
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, {"user_id": user_id}))
        assert response.status_code == 200, response.text
        assert response.json() == expected, variant
        assert costs_of(response)["queries"] == "1", variant  # the same endpoint underneath


async def test_a_missing_user_is_a_404_from_every_variant(client: httpx.AsyncClient) -> None:
    for variant in TECHNIQUE.variants:
        response = await client.get(TECHNIQUE.url(variant, {"user_id": 10**9}))
        assert response.status_code == 404, variant
        assert "10000000" in response.json()["detail"]


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "2.5", str(2**63)])
async def test_a_bad_id_is_a_422_naming_the_path_parameter(
    client: httpx.AsyncClient, bad: str
) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "user_id", bad)  # in the path


async def test_naive_adds_a_label_set_per_distinct_path_and_optimized_none(
    client: httpx.AsyncClient,
) -> None:
    for variant in TECHNIQUE.variants:  # each has served a request: its label set exists
        assert (await client.get(TECHNIQUE.url(variant))).status_code == 200
    before = await series(client)
    ids = unseen_ids(25)
    for user_id in ids:
        for variant in TECHNIQUE.variants:
            response = await client.get(TECHNIQUE.url(variant, {"user_id": user_id}))
            assert response.status_code == 200
    after = await series(client)
    assert after["naive"]["label_sets"] == before["naive"]["label_sets"] + len(ids)
    per_label_set = 15 + 3  # the client's default buckets (with +Inf), count, sum, created
    assert after["naive"]["series"] == before["naive"]["series"] + len(ids) * per_label_set
    assert after["optimized"] == before["optimized"]
    assert after["uninstrumented"] == {"series": 0, "label_sets": 0}


async def test_only_the_base_http_middleware_starts_a_task_of_its_own(
    client: httpx.AsyncClient,
) -> None:
    """BaseHTTPMiddleware runs the rest of each request in a task group: one task more than
    the same request through the pure ASGI middleware or none, on every request. Its body,
    sent as a piece and an end, is no stream: the header has the whole cost."""
    started = {}
    for variant in TECHNIQUE.variants:
        responses = [await client.get(TECHNIQUE.url(variant, {"user_id": n})) for n in (1, 2, 3)]
        assert not any(WHOLE_COST_HEADER in response.headers for response in responses)
        counts = {int(costs_of(response)["tasks_started"]) for response in responses}
        assert len(counts) == 1, (variant, counts)  # the same every time
        started[variant] = counts.pop()
    assert started["optimized"] == started["uninstrumented"]
    assert started["naive"] == started["optimized"] + 1


def requests_timed(registry: CollectorRegistry) -> float:
    """How many requests a registry's histogram has counted, all label sets together."""
    return sum(
        sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name.endswith("_count")
    )


async def test_each_instrumentation_times_its_own_route_only(client: httpx.AsyncClient) -> None:
    timed = {name: requests_timed(registry) for name, registry in REGISTRIES.items()}
    await client.get(TECHNIQUE.url("uninstrumented", {"user_id": 3}))
    await client.get("/n-plus-one/joined?authors=2")
    await client.get("/health")
    assert {name: requests_timed(registry) for name, registry in REGISTRIES.items()} == timed
    await client.get(TECHNIQUE.url("optimized", {"user_id": 3}))
    assert requests_timed(ROUTE_TEMPLATE_REGISTRY) == timed["optimized"] + 1
    assert requests_timed(RAW_PATH_REGISTRY) == timed["naive"]


async def test_optimized_labels_by_route_template_and_status_class(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get(TECHNIQUE.url("optimized", {"user_id": 10**9}))).status_code == 404
    assert (await client.get(TECHNIQUE.url("optimized", {"user_id": 5}))).status_code == 200
    labels = {
        (sample.labels["method"], sample.labels["route"], sample.labels["status"])
        for metric in ROUTE_TEMPLATE_REGISTRY.collect()
        for sample in metric.samples
    }
    template = TECHNIQUE.path("optimized")
    assert labels == {("GET", template, "2xx"), ("GET", template, "4xx")}


async def test_the_evidence_states_each_variants_series(client: httpx.AsyncClient) -> None:
    response = await client.get(TECHNIQUE.artifacts_path or "")
    assert response.status_code == 200
    evidence = response.json()
    counts = evidence["Series after the run"]
    naive = series_count(RAW_PATH_REGISTRY)
    assert f"naive: {naive.series:,} series in {naive.label_sets:,} label set(s)" in counts
    assert "uninstrumented: 0 series" in counts
    assert any(
        text.startswith("# HELP http_request_duration_seconds") for text in evidence.values()
    )
