"""The upstream stub: a real server in its own process that counts what it is sent."""

import asyncio
from pathlib import Path

import httpx
import psutil
import pytest

from pairbench.env.upstream import Upstream, UpstreamCounts, running_upstream
from pairbench.env.upstream_stub import StubConfig, item_body, item_value, stalls


def test_a_kept_alive_client_opens_one_connection_a_new_client_one_each(
    upstream: Upstream,
) -> None:
    before = upstream.counts()
    with httpx.Client(base_url=upstream.url) as client:
        for n in range(5):
            assert client.get(f"/items/{n}").json()["value"] == item_value(str(n))
    for n in range(3):
        httpx.get(f"{upstream.url}/items/{n}")
    assert upstream.counts() - before == UpstreamCounts(connections=4, requests=8)


def test_reading_the_counters_does_not_count(upstream: Upstream) -> None:
    before = upstream.counts()
    for _ in range(3):
        upstream.counts()
    assert upstream.counts() - before == UpstreamCounts(0, 0)


def test_latency_and_payload_can_be_set_per_call(upstream: Upstream) -> None:
    response = httpx.get(f"{upstream.url}/items/abc", params={"latency_ms": 0, "bytes": 1000})
    assert response.json()["payload"] == "abc." * 250
    assert response.content == item_body("abc", 1000)


def test_fail_once_fails_the_first_call_per_key_only(upstream: Upstream) -> None:
    statuses = [
        httpx.get(f"{upstream.url}/fail-once/items/once-{n}").status_code for n in (1, 1, 2, 1)
    ]
    assert statuses == [503, 200, 503, 200]


async def test_overloaded_refuses_what_exceeds_its_capacity_in_flight(upstream: Upstream) -> None:
    """capacity slow calls fill it: a call beside them is refused at once, one after them served."""
    capacity = upstream.config.capacity
    refused_before = httpx.get(f"{upstream.control_url}/stats").json()["refused"]
    async with httpx.AsyncClient(base_url=upstream.url) as client:
        holding = [
            asyncio.create_task(client.get(f"/overloaded/items/{n}", params={"latency_ms": 300}))
            for n in range(capacity)
        ]
        await asyncio.sleep(0.1)  # the slow calls are in flight
        beside = await client.get("/overloaded/items/x")
        held = await asyncio.gather(*holding)
        after = await client.get("/overloaded/items/x")
    assert [response.status_code for response in held] == [200] * capacity
    assert beside.status_code == 503
    assert after.json()["value"] == item_value("x")
    assert httpx.get(f"{upstream.control_url}/stats").json()["refused"] == refused_before + 1


def test_a_batch_call_answers_every_key_in_order(upstream: Upstream) -> None:
    before = upstream.counts()
    response = httpx.get(f"{upstream.url}/batch/items", params={"keys": "3,1,2"})
    assert [record["value"] for record in response.json()] == [
        item_value(key) for key in ("3", "1", "2")
    ]
    assert (upstream.counts() - before).requests == 1
    for bad in ("", ",".join(map(str, range(1001)))):
        assert httpx.get(f"{upstream.url}/batch/items", params={"keys": bad}).status_code == 400


def test_the_stalled_share_of_keys_is_fixed() -> None:
    keys = [str(n) for n in range(1, 10_001)]
    share = sum(stalls(key, 0.05) for key in keys) / len(keys)
    assert share == pytest.approx(0.05, abs=0.01)
    assert [key for key in keys if stalls(key, 0.05)] == [
        key for key in keys if stalls(key, 0.05)
    ]  # the same keys every time: it depends on the key alone
    assert not any(stalls(key, 0.0) for key in keys)


def test_numbered_keys_stall_evenly_so_every_stretch_of_them_holds_its_share() -> None:
    stalled = [n for n in range(1, 1001) if stalls(str(n), 0.05)]
    assert stalled == list(range(20, 1001, 20))
    for start in range(1, 981):  # any 20 consecutive numbers hold exactly one
        assert sum(stalls(str(n), 0.05) for n in range(start, start + 20)) == 1
    named = [f"sku-{n}" for n in range(10_000)]  # keys that are not numbers: by hash
    assert sum(stalls(key, 0.05) for key in named) / len(named) == pytest.approx(0.05, abs=0.01)


def test_unknown_paths_are_404s(upstream: Upstream) -> None:
    assert httpx.get(f"{upstream.url}/nothing").status_code == 404
    assert httpx.get(f"{upstream.control_url}/nothing").status_code == 404


def test_it_stops_with_the_block_leaving_nothing_running(tmp_path: Path) -> None:
    ours = psutil.Process()
    before = {child.pid for child in ours.children(recursive=True)}
    with running_upstream(tmp_path / "stub.log", lambda message: None, StubConfig(latency_ms=1)):
        started = [child for child in ours.children(recursive=True) if child.pid not in before]
        assert any("upstream_stub" in " ".join(child.cmdline()) for child in started)
    assert not [
        child for child in started if child.is_running() and child.status() != psutil.STATUS_ZOMBIE
    ]
