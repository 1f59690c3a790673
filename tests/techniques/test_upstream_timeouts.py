"""upstream_timeouts: same answer when the upstream answers; a stall costs the deadline, not
the stall, and answers the declared fallback; stalls nobody times out fill the upstream's
pool, and the bystanders wait for them."""

import asyncio
import time

import httpx
import pytest

from bench_app.techniques import all_techniques
from bench_app.techniques.upstream_timeouts import DEADLINE_S, POOL_CONNECTIONS
from bench_app.upstream_client import SLOW_CALL_S
from pairbench.env.upstream import Upstream
from pairbench.env.upstream_stub import item_value, stalls
from tests.contract import assert_every_variant_rejects
from tests.costs import costs_of

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


async def arrived(upstream: Upstream, requests: int, within_s: float = 0.5) -> None:
    """Wait until the stub has had `requests` requests in all (it counts each as it arrives)."""
    deadline = time.monotonic() + within_s
    while (await asyncio.to_thread(upstream.counts)).requests < requests:
        assert time.monotonic() < deadline, f"the stub had not seen {requests} requests"
        await asyncio.sleep(0.005)


async def test_stalls_without_a_timeout_make_the_bystanders_wait_for_the_pool(
    client: httpx.AsyncClient, upstream: Upstream
) -> None:
    """POOL_CONNECTIONS stalled calls hold every connection of the technique's pool, so a
    bystander (which never stalls itself) answers only once a stall has ended: a lower
    bound the stub guarantees, not a measured timing. Under the deadline the same stalls
    let go of their connections, and the bystander answers while a stall sent at the same
    time straight to the stub is still going on."""
    stall_s = upstream.config.stall_ms / 1000
    stalled = items(upstream, stalled=True, count=POOL_CONNECTIONS)
    expected = {"key": str(TECHNIQUE.params["item"]), "value": item_value("1")}

    async def bystander_beside(variant: str) -> tuple[httpx.Response, float, bool]:
        before = (await asyncio.to_thread(upstream.counts)).requests
        sent = time.monotonic()  # no stall of these calls can end before sent + stall_s
        calls = [
            asyncio.create_task(client.get(TECHNIQUE.url(variant, {"item": item})))
            for item in stalled
        ]
        async with httpx.AsyncClient(base_url=upstream.url) as direct:
            stall = asyncio.create_task(direct.get(f"/flaky/items/{stalled[0]}"))
            await arrived(upstream, before + len(calls) + 1)  # the calls hold their connections
            response = await client.get("/upstream-timeouts/bystander")
            waited, stall_over = time.monotonic() - sent, stall.done()
            await asyncio.gather(stall, *calls)
        return response, waited, stall_over

    response, waited, _ = await bystander_beside("no_timeout")
    assert response.json() == expected
    assert waited >= stall_s, "it answered only once a stalled call let go of its connection"
    # ... for the pool, not for the upstream: its call is not a slow one
    assert costs_of(response)["upstream_slow_calls"] == "0"
    response, _, stall_over = await bystander_beside("deadline_fallback")
    assert response.json() == expected
    assert not stall_over, "it answered before a stall would have let go of a connection"


async def test_only_a_stall_waited_out_counts_as_a_slow_upstream_call(
    client: httpx.AsyncClient, upstream: Upstream
) -> None:
    """The meter's count of calls that took SLOW_CALL_S or more: the stall, where no deadline
    cut it; never an item the stub answers at once, nor a call the deadline cut off."""
    assert upstream.config.stall_ms / 1000 > SLOW_CALL_S > DEADLINE_S
    stalled, prompt = items(upstream, True, 1)[0], items(upstream, False, 1)[0]
    slow = {}
    for variant in TECHNIQUE.variants:
        for item in (stalled, prompt):
            response = await client.get(TECHNIQUE.url(variant, {"item": item}))
            slow[variant, item == stalled] = int(costs_of(response)["upstream_slow_calls"])
    assert slow == {
        ("no_timeout", True): 1,
        ("no_timeout", False): 0,
        ("deadline_fallback", True): 0,
        ("deadline_fallback", False): 0,
    }


def test_the_deadline_sits_well_above_the_upstreams_answer_time(upstream: Upstream) -> None:
    assert DEADLINE_S * 1000 >= 5 * upstream.config.latency_ms
    assert DEADLINE_S * 1000 < upstream.config.stall_ms


@pytest.mark.parametrize("bad", ["0", "1000001", "x"])
async def test_bad_item_is_a_422(client: httpx.AsyncClient, bad: str) -> None:
    await assert_every_variant_rejects(client, TECHNIQUE, "item", bad)
