"""upstream_timeouts: same answer when the upstream answers; a stall costs the deadline, not
the stall, and answers the declared fallback."""

import time

import httpx
import pytest

from bench_app.techniques import all_techniques
from bench_app.techniques.upstream_timeouts import DEADLINE_S
from pairbench.env.upstream import Upstream
from pairbench.env.upstream_stub import item_value, stalls
from tests.contract import assert_every_variant_rejects

TECHNIQUE = all_techniques()["upstream_timeouts"]


def items(upstream: Upstream, stalled: bool, count: int) -> list[int]:
    share = upstream.config.stall_share
    return [n for n in range(1, 2000) if stalls(str(n), share) == stalled][:count]


async def test_every_variant_returns_the_record_of_an_item_that_does_not_stall(
    client: httpx.AsyncClient, upstream: Upstream
) -> None:
    for item in [TECHNIQUE.params["item"], *items(upstream, stalled=False, count=3)]:
        expected = {"key": str(item), "value": item_value(str(item)), "degraded": False}
        for variant in TECHNIQUE.variants:
            response = await client.get(TECHNIQUE.url(variant, {"item": item}))
            assert response.status_code == 200, response.text
            assert response.json() == expected, variant


async def test_a_stalled_item_costs_the_deadline_and_answers_the_fallback(
    client: httpx.AsyncClient, upstream: Upstream
) -> None:
    stall_s = upstream.config.stall_ms / 1000
    for item in items(upstream, stalled=True, count=2):
        # The fallback itself shows the deadline fired: the stub answers only after the stall.
        response = await client.get(TECHNIQUE.url("deadline_fallback", {"item": item}))
        assert response.json() == {"key": str(item), "value": None, "degraded": True}

        started = time.monotonic()
        response = await client.get(TECHNIQUE.url("no_timeout", {"item": item}))
        # A lower bound the stub guarantees (it sleeps the stall), not a measured timing.
        assert time.monotonic() - started >= stall_s, "without a timeout it waits the stall out"
        assert response.json()["degraded"] is False


def test_the_deadline_sits_well_above_the_upstreams_answer_time(upstream: Upstream) -> None:
    assert DEADLINE_S * 1000 >= 5 * upstream.config.latency_ms
    assert DEADLINE_S * 1000 < upstream.config.stall_ms


@pytest.mark.parametrize("bad", ["0", "1000001", "x"])
async def test_bad_item_is_a_422(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "item", bad)
