"""The delay proxy on real PostgreSQL, Redis and the upstream stub: delay, bytes, many
connections, clean close; and the URLs and durations it is given."""

import asyncio
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis
import redis.asyncio

from pairbench.env.delay_proxy import MAX_LEAD_S, Clock, Direction
from pairbench.env.distance import (
    DATABASE,
    REDIS,
    UPSTREAM,
    DelayProxy,
    Distance,
    parse_rtt_list,
    parse_rtt_ms,
    proxy_target,
    running_proxy,
    via_proxy,
)
from pairbench.env.punctual_selector import PunctualSelector
from pairbench.env.services import ServiceUrls, normalize_database_url
from pairbench.env.upstream import Upstream
from pairbench.load.proxy_cost import NO_BLOCK, database_round_trips, measure_proxy

ROUND_TRIPS = 40


@pytest.fixture
def redis_proxy(service_urls: ServiceUrls, tmp_path: Path) -> Iterator[DelayProxy]:
    with running_proxy(REDIS, service_urls.redis_url, 0, tmp_path / "proxy.log", print) as proxy:
        yield proxy


def test_each_round_trip_through_the_proxy_takes_at_least_the_rtt(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    """N sequential `SELECT 1` take N x RTT or more: the delay is per round trip, both ways."""
    rtt_ms = 2.0
    with running_proxy(DATABASE, service_urls.database_url, rtt_ms, tmp_path / "p.log") as proxy:
        (times,) = database_round_trips(proxy.url, [NO_BLOCK], ROUND_TRIPS)
    assert len(times) == ROUND_TRIPS
    assert sum(times) >= ROUND_TRIPS * rtt_ms / 1000
    assert min(times) >= rtt_ms / 1000


class RecordingSink(asyncio.Transport):
    """A transport that keeps each chunk with the loop's time when it was written."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.written: list[tuple[float, bytes]] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append((self.loop.time(), bytes(data)))

    def is_closing(self) -> bool:
        return False


def test_no_chunk_leaves_before_it_is_due() -> None:
    """Timers set to run a whole lead early, the selector waking its whole margin early: the
    flush spins, so each chunk is written at or after read time + RTT/2, in order."""
    rtt_s, chunks = 0.5e-3, 200
    selector = PunctualSelector()
    selector.margin.margin_s = selector.margin.most_s
    loop = asyncio.SelectorEventLoop(selector)
    clock = Clock(rtt_s)
    clock.lead.margin_s = MAX_LEAD_S
    clock.lead.up_s = clock.lead.down_s = 0.0  # the lead stays at its most
    sink = RecordingSink(loop)
    due: list[float] = []
    pace = random.Random(13)

    async def send() -> None:
        direction = Direction(loop, clock, 0.0, lambda: None)
        direction.attach(sink)
        for index in range(chunks):
            direction.push(index.to_bytes(2, "big"))
            due.append(direction.queue[-1][0])  # read time + RTT/2
            await asyncio.sleep(pace.choice([0.0, 50e-6, 0.2e-3, 1e-3]))  # bursts and gaps
        while len(sink.written) < chunks and loop.time() < due[-1] + 1.0:
            await asyncio.sleep(1e-3)

    try:
        loop.run_until_complete(send())
    finally:
        loop.close()
    assert [data for _, data in sink.written] == [i.to_bytes(2, "big") for i in range(chunks)]
    assert all(written >= due_at for (written, _), due_at in zip(sink.written, due, strict=True))


def test_a_new_connection_waits_one_more_round_trip_for_the_handshake(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    """asyncpg's connect: TCP handshake, then startup -> ready (trust): two RTTs or more."""
    rtt_ms = 20.0
    with running_proxy(DATABASE, service_urls.database_url, rtt_ms, tmp_path / "p.log") as proxy:
        dsn = normalize_database_url(proxy.url).replace("+asyncpg", "")

        async def connect() -> float:
            started = time.perf_counter()
            connection = await asyncpg.connect(dsn)
            seconds = time.perf_counter() - started
            await connection.close()
            return seconds

        assert asyncio.run(connect()) >= 2 * rtt_ms / 1000


def test_bytes_pass_unchanged_both_ways(redis_proxy: DelayProxy) -> None:
    redis_proxy.set_rtt(1.0)
    value = os.urandom(3_000_000)  # many chunks each way
    client = redis.Redis.from_url(redis_proxy.url)
    try:
        client.set("pairbench:test:proxy-bytes", value)
        assert client.get("pairbench:test:proxy-bytes") == value
        # a pipeline: many commands in one write, their answers in order
        pipe = client.pipeline(transaction=False)
        for index in range(500):
            pipe.echo(f"{index}:" + "x" * index)
        assert pipe.execute() == [f"{index}:".encode() + b"x" * index for index in range(500)]
    finally:
        client.delete("pairbench:test:proxy-bytes")
        client.close()


def test_many_concurrent_connections_overlap_their_delays_and_close_cleanly(
    redis_proxy: DelayProxy,
) -> None:
    """100 connections at once, each its own answers; delays overlap (a chunk read at t goes
    out at t + RTT/2 whatever else waits), and once the clients close nothing stays open."""
    rtt_ms, clients = 100.0, 100
    redis_proxy.set_rtt(rtt_ms)
    before = redis_proxy.stats()["connections"]

    async def one(index: int) -> bytes | None:
        client = redis.asyncio.Redis.from_url(redis_proxy.url, single_connection_client=True)
        try:
            found: bytes | None = await client.echo(f"client {index}")
            return found
        finally:
            await client.aclose()

    async def all_at_once() -> list[bytes | None]:
        return await asyncio.gather(*(one(index) for index in range(clients)))

    started = time.perf_counter()
    answers = asyncio.run(all_at_once())
    seconds = time.perf_counter() - started
    assert answers == [f"client {index}".encode() for index in range(clients)]
    assert seconds < clients * rtt_ms / 1000 / 4  # serialized delays would take 10 s
    stats = redis_proxy.stats()
    assert stats["connections"] - before == clients
    deadline = time.monotonic() + 5
    while redis_proxy.stats()["open"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert redis_proxy.stats()["open"] == 0


def test_the_upstream_stub_through_the_proxy(upstream: Upstream, tmp_path: Path) -> None:
    with running_proxy(UPSTREAM, upstream.url, 5.0, tmp_path / "p.log") as proxy:
        assert proxy.url != upstream.url
        response = httpx.get(f"{proxy.url}/items/k", params={"latency_ms": 0})
        assert response.status_code == 200 and response.json()["key"] == "k"


def test_the_measured_cost_reports_the_delay_the_rtt_asked_for(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    with running_proxy(REDIS, service_urls.redis_url, 0.5, tmp_path / "p.log") as proxy:
        cost = measure_proxy(proxy, service_urls.redis_url, (0.5, 2.0), 0.5)
        assert proxy.stats()["rtt_ms"] == 0.5  # left at the run's RTT
    assert [delay["rtt_ms"] for delay in cost["delays"]] == [0.5, 2.0]
    assert cost["delays"][1]["extra_ms"] >= 2.0 * 0.9  # a lower bound cannot be flaky
    for delay in cost["delays"]:  # judged net of what idling as long costs without the proxy
        net = (delay["extra_ms"] - delay["idle_ms"]) / delay["rtt_ms"] - 1
        assert delay["proxy_error"] == pytest.approx(net, abs=1e-3)
        assert delay["agrees"] == (abs(delay["proxy_error"]) <= cost["agreement"])
        assert delay["cpu_us_per_round_trip"] > 0
    assert cost["cpu_us_per_round_trip"] > 0 and cost["direct_us"] > 0


def test_service_urls_point_at_the_proxy() -> None:
    embedded_db = "postgresql+asyncpg://postgres@/postgres?host=/tmp/pb-x"
    assert proxy_target(DATABASE, embedded_db) == "/tmp/pb-x/.s.PGSQL.5432"
    assert (
        via_proxy(DATABASE, embedded_db, 4000)
        == "postgresql+asyncpg://postgres@127.0.0.1:4000/postgres"
    )
    user_db = "postgresql://u:secret@db.local:6000/app?sslmode=disable"
    assert proxy_target(DATABASE, user_db) == "db.local:6000"
    assert (
        via_proxy(DATABASE, user_db, 4000)
        == "postgresql://u:secret@127.0.0.1:4000/app?sslmode=disable"
    )
    assert proxy_target(REDIS, "unix:///tmp/pb-x/redis.sock?db=3") == "/tmp/pb-x/redis.sock"
    assert via_proxy(REDIS, "unix:///tmp/pb-x/redis.sock?db=3", 4000) == "redis://127.0.0.1:4000/3"
    assert proxy_target(REDIS, "redis://127.0.0.1:6379/4") == "127.0.0.1:6379"
    assert via_proxy(REDIS, "redis://127.0.0.1:6379/4", 4000) == "redis://127.0.0.1:4000/4"
    assert proxy_target(UPSTREAM, "http://127.0.0.1:9000") == "127.0.0.1:9000"


@pytest.mark.parametrize(
    ("text", "milliseconds"),
    [("0.5ms", 0.5), ("500us", 0.5), ("500µs", 0.5), ("1ms", 1.0), ("0.001s", 1.0), ("0", 0.0)],
)
def test_round_trip_durations(text: str, milliseconds: float) -> None:
    assert parse_rtt_ms(text) == pytest.approx(milliseconds)


@pytest.mark.parametrize("text", ["0.5", "fast", "-1ms", "1 hour", "", "2000ms"])
def test_bad_round_trip_durations_say_what_to_give(text: str) -> None:
    with pytest.raises(ValueError, match="round.trip"):
        parse_rtt_ms(text)


def test_an_rtt_sweep_is_sorted_distinct_round_trips() -> None:
    assert parse_rtt_list("1ms,0,0.25ms,500us") == (0.0, 0.25, 0.5, 1.0)
    with pytest.raises(ValueError, match="two distinct"):
        parse_rtt_list("1ms,1ms")
    sweep = Distance({UPSTREAM: 2.0}, (0.0, 1.0))
    assert sweep.proxied() == [DATABASE, REDIS, UPSTREAM] and sweep.rtt_of(DATABASE) == 0.0
