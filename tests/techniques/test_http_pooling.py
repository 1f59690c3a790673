"""http_pooling: both variants give the upstream's answer; only the naive one connects per call."""

import httpx
import pytest

from bench_app.techniques import all_techniques
from pairbench.env.upstream import Upstream
from pairbench.env.upstream_stub import item_value
from tests.contract import assert_every_variant_answers, assert_every_variant_rejects
from tests.costs import costs_of

TECHNIQUE = all_techniques()["http_pooling"]


@pytest.mark.parametrize("item", [1, 77, 1_000_000])
async def test_every_variant_returns_the_upstreams_record(
    client: httpx.AsyncClient, item: int
) -> None:
    expected = {"key": str(item), "value": item_value(str(item))}
    await assert_every_variant_answers(client, TECHNIQUE, {"item": item}, expected)


async def test_a_client_per_call_opens_a_connection_per_request(
    client: httpx.AsyncClient, upstream: Upstream
) -> None:
    await client.get(TECHNIQUE.url("shared_client"))  # the pool may be cold
    for variant, connections in (("client_per_call", 1), ("shared_client", 0)):
        before = upstream.counts()
        for _ in range(5):
            response = await client.get(TECHNIQUE.url(variant))
            assert costs_of(response)["upstream_calls"] == "1"
            assert costs_of(response)["upstream_connections"] == str(connections), variant
        seen = upstream.counts() - before
        assert (seen.requests, seen.connections) == (5, 5 * connections), variant


@pytest.mark.parametrize("bad", ["0", "1000001", "x"])
async def test_bad_item_is_a_422(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "item", bad)
