"""What the delay proxy costs, and whether it delays as asked: measured in every run that has one.

The smallest round trip each dependency knows (PostgreSQL `SELECT 1`, Redis `PING`, the
upstream stub's item with no latency), timed one at a time: directly, then through the
proxy at RTT 0 (the proxy's own added latency, and its CPU per round trip) and at each RTT
the run uses, these settings taking turns in blocks on one connection. The extra time per
round trip over the RTT-0 figure is the delay the app really got; it should match the RTT
asked for within AGREEMENT. The proxy's CPU per round trip at each setting says what its
punctuality costs (it polls and spins through the last µs of each delay). During the load,
each proxy's share of a core is watched too.
"""

import asyncio
import math
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import httpx
import redis

from pairbench.env.distance import DATABASE, REDIS, DelayProxy, Distance
from pairbench.env.services import normalize_database_url

ROUND_TRIPS = 200  # per setting; at 1 ms RTT a fifth of a second
BLOCKS = 5  # the settings take turns in blocks, so the machine's drift falls on all alike
WARMUP_ROUND_TRIPS = 20
AGREEMENT = 0.10  # measured extra per round trip vs the RTT asked for
TIMEOUT_S = 10.0

# (service URL, what to do before each block, round trips per block) -> seconds of each
# round trip, per block
RoundTrips = Callable[[str, list[Callable[[], None]], int], list[list[float]]]

Log = Callable[[str], None]


def _timed_blocks(
    round_trip: Callable[[], object], blocks: list[Callable[[], None]], count: int
) -> list[list[float]]:
    for _ in range(WARMUP_ROUND_TRIPS):
        round_trip()
    found = []
    for before in blocks:
        before()
        times = []
        for _ in range(count):
            started = time.perf_counter()
            round_trip()
            times.append(time.perf_counter() - started)
        found.append(times)
    return found


def database_round_trips(
    url: str, blocks: list[Callable[[], None]], count: int
) -> list[list[float]]:
    """`SELECT 1` on one asyncpg connection, each round trip run to completion by a loop of
    its own (the loop's turn costs the same with and without the proxy)."""
    dsn = normalize_database_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)
    loop = asyncio.new_event_loop()
    try:
        connection = loop.run_until_complete(asyncpg.connect(dsn, timeout=TIMEOUT_S))
        try:
            return _timed_blocks(
                lambda: loop.run_until_complete(connection.fetchval("SELECT 1")), blocks, count
            )
        finally:
            loop.run_until_complete(connection.close())
    finally:
        loop.close()


def redis_round_trips(url: str, blocks: list[Callable[[], None]], count: int) -> list[list[float]]:
    client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S)
    try:
        return _timed_blocks(client.ping, blocks, count)
    finally:
        client.close()


def upstream_round_trips(
    url: str, blocks: list[Callable[[], None]], count: int
) -> list[list[float]]:
    with httpx.Client(base_url=url, timeout=TIMEOUT_S) as client:

        def item() -> None:
            client.get("/items/ping", params={"latency_ms": 0}).raise_for_status()

        return _timed_blocks(item, blocks, count)


ROUND_TRIP_OF = {DATABASE: database_round_trips, REDIS: redis_round_trips}


def round_trip_of(kind: str) -> RoundTrips:
    return ROUND_TRIP_OF.get(kind, upstream_round_trips)


def _median_us(times: list[float]) -> float:
    return statistics.median(times) * 1e6


def measure_proxy(
    proxy: DelayProxy, direct_url: str, rtts_ms: Iterable[float], run_rtt_ms: float
) -> dict[str, Any]:
    """The proxy's cost at RTT 0 and its measured delay at each of `rtts_ms`; it is left at
    `run_rtt_ms`. Medians of ROUND_TRIPS sequential round trips per setting."""
    round_trips = round_trip_of(proxy.kind)
    per_block = ROUND_TRIPS // BLOCKS
    direct = _median_us(
        [t for block in round_trips(direct_url, [lambda: None], ROUND_TRIPS) for t in block]
    )
    settings = [0.0, *sorted({rtt for rtt in rtts_ms if rtt > 0})]
    order = [rtt for _ in range(BLOCKS) for rtt in settings]
    cpu = {rtt: 0.0 for rtt in settings}
    marks: list[tuple[float, float]] = []  # (setting, proxy CPU seconds) as each block starts

    def setter(rtt_ms: float) -> Callable[[], None]:
        def before() -> None:
            marks.append((rtt_ms, proxy.cpu_s()))
            proxy.set_rtt(rtt_ms)

        return before

    blocks = round_trips(proxy.url, [setter(rtt) for rtt in order], per_block)
    marks.append((math.nan, proxy.cpu_s()))
    for (rtt, started), (_, ended) in zip(marks, marks[1:], strict=False):
        cpu[rtt] += ended - started
    times = {
        rtt: [t for got, block in zip(order, blocks, strict=True) if got == rtt for t in block]
        for rtt in settings
    }
    at_zero = _median_us(times[0.0])
    cpu_us = {rtt: seconds * 1e6 / (per_block * BLOCKS) for rtt, seconds in cpu.items()}
    delays = []
    for rtt_ms in settings[1:]:
        extra_ms = (_median_us(times[rtt_ms]) - at_zero) / 1000
        error = extra_ms / rtt_ms - 1
        delays.append(
            {"rtt_ms": rtt_ms, "extra_ms": round(extra_ms, 4), "error": round(error, 4),
             "agrees": abs(error) <= AGREEMENT, "cpu_us_per_round_trip": round(cpu_us[rtt_ms], 1)}
        )  # fmt: skip
    lateness_us = float(proxy.stats()["lateness_us"])  # the busier the machine, the later
    proxy.set_rtt(run_rtt_ms)
    return {
        "target": proxy.target,
        "rtt_ms": run_rtt_ms,
        "round_trips": per_block * BLOCKS,
        "direct_us": round(direct, 1),
        "through_proxy_us": round(at_zero, 1),
        "added_us": round(at_zero - direct, 1),
        "cpu_us_per_round_trip": round(cpu_us[0.0], 1),
        "delays": delays,
        "wake_lateness_us": round(lateness_us, 1),
        "agreement": AGREEMENT,
    }


@contextmanager
def watching_proxies(proxies: dict[str, DelayProxy], manifest: dict[str, Any]) -> Iterator[None]:
    """Each proxy's share of a core during the block (the load): a proxy near a full core
    queues what it forwards, which a network would not, and the report says so."""
    started = time.perf_counter()
    cpu = {kind: proxy.cpu_s() for kind, proxy in proxies.items()}
    try:
        yield
    finally:
        wall = time.perf_counter() - started
        for kind, proxy in proxies.items():
            share = (proxy.cpu_s() - cpu[kind]) / wall if wall > 0 else 0.0
            manifest["distance"]["proxies"].setdefault(kind, {})["load_cpu_share"] = round(share, 3)


def measure_proxies(
    proxies: dict[str, DelayProxy], direct: dict[str, str], distance: Distance, log: Log
) -> dict[str, Any]:
    """Each delay proxy's own cost and its delay as measured (pairbench.load.proxy_cost)."""
    found = {}
    for kind, proxy in proxies.items():
        rtt = distance.rtt_of(kind)
        cost = measure_proxy(proxy, direct[kind], (rtt, *distance.sweep_ms), rtt)
        delays = ", ".join(
            f"{delay['extra_ms']:.3f} ms at {delay['rtt_ms']:g} ({delay['error']:+.1%}, "
            f"{delay['cpu_us_per_round_trip']:.0f} µs CPU)"
            for delay in cost["delays"]
        )
        added, cpu = cost["added_us"], cost["cpu_us_per_round_trip"]
        log(f"{kind} proxy: +{added:.0f} µs and {cpu:.0f} µs CPU per round trip at RTT 0; "
            f"per round trip it adds {delays or 'nothing else'}")  # fmt: skip
        found[kind] = cost
    return found
