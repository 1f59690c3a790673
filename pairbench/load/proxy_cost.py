"""What the delay proxy costs, and whether it delays as asked: measured in every run that has one.

The smallest round trip each dependency knows (PostgreSQL `SELECT 1`, Redis `PING`, the
upstream stub's item with no latency), timed one at a time: directly, then through the
proxy at RTT 0 (the proxy's own added latency, and its CPU per round trip) and at each RTT
the run uses, these settings taking turns in blocks on one connection. The extra time per
round trip over the RTT-0 figure is the delay the app really got. Part of it is not the
proxy's: a client and a server that wait idle for a round trip wake and run slower after
it (their CPUs idle, their caches go to other processes), by tens of µs on a shared VM, as
they would across a real network. So each RTT also has its reference: RTT 0 with the client
idle for the RTT before each round trip. The extra over that reference is the proxy's own
delay, which should match the RTT asked for within AGREEMENT. The proxy's CPU per round
trip at each setting says what its punctuality costs (it polls and spins through the last
µs of each delay). During the load, each proxy's share of a core is watched too.
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

from pairbench.console import Log
from pairbench.env.distance import DATABASE, REDIS, DelayProxy, Distance
from pairbench.env.services import normalize_database_url
from pairbench.manifest import Manifest

ROUND_TRIPS = 200  # per setting; at 1 ms RTT a fifth of a second
BLOCKS = 5  # the settings take turns in blocks, so the machine's drift falls on all alike
WARMUP_ROUND_TRIPS = 20
AGREEMENT = 0.10  # measured extra per round trip vs the RTT asked for
TIMEOUT_S = 10.0

# What to do before a block of round trips, and the seconds to idle before each of them
Block = tuple[Callable[[], None], float]
NO_BLOCK: Block = (lambda: None, 0.0)

# (service URL, blocks, round trips per block) -> seconds of each round trip, per block
RoundTrips = Callable[[str, list[Block], int], list[list[float]]]


def _timed_blocks(
    round_trip: Callable[[], object], blocks: list[Block], count: int
) -> list[list[float]]:
    for _ in range(WARMUP_ROUND_TRIPS):
        round_trip()
    found = []
    for before, idle_s in blocks:
        before()
        times = []
        for _ in range(count):
            if idle_s > 0:
                time.sleep(idle_s)
            started = time.perf_counter()
            round_trip()
            times.append(time.perf_counter() - started)
        found.append(times)
    return found


def database_round_trips(url: str, blocks: list[Block], count: int) -> list[list[float]]:
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


def redis_round_trips(url: str, blocks: list[Block], count: int) -> list[list[float]]:
    client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S)
    try:
        return _timed_blocks(client.ping, blocks, count)
    finally:
        client.close()


def upstream_round_trips(url: str, blocks: list[Block], count: int) -> list[list[float]]:
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
        [t for block in round_trips(direct_url, [NO_BLOCK], ROUND_TRIPS) for t in block]
    )
    rtts = sorted({rtt for rtt in rtts_ms if rtt > 0})
    # (RTT through the proxy, ms idle before each round trip): RTT 0, each RTT, each reference
    settings = [(0.0, 0.0), *((rtt, 0.0) for rtt in rtts), *((0.0, rtt) for rtt in rtts)]
    order = [setting for _ in range(BLOCKS) for setting in settings]
    cpu = {setting: 0.0 for setting in settings}
    marks: list[tuple[tuple[float, float], float]] = []  # (setting, proxy CPU s) per block

    def block(setting: tuple[float, float]) -> Block:
        def before() -> None:
            marks.append((setting, proxy.cpu_s()))
            proxy.set_rtt(setting[0])

        return before, setting[1] / 1000

    blocks = round_trips(proxy.url, [block(setting) for setting in order], per_block)
    marks.append(((math.nan, math.nan), proxy.cpu_s()))
    for (setting, started), (_, ended) in zip(marks, marks[1:], strict=False):
        cpu[setting] += ended - started
    median_us = {
        setting: _median_us(
            [t for got, times in zip(order, blocks, strict=True) if got == setting for t in times]
        )
        for setting in settings
    }
    at_zero = median_us[(0.0, 0.0)]
    cpu_us = {setting: seconds * 1e6 / (per_block * BLOCKS) for setting, seconds in cpu.items()}
    delays = []
    for rtt_ms in rtts:
        extra_ms = (median_us[(rtt_ms, 0.0)] - at_zero) / 1000
        idle_ms = (median_us[(0.0, rtt_ms)] - at_zero) / 1000  # the reference's extra
        error = extra_ms / rtt_ms - 1
        proxy_error = round((extra_ms - idle_ms) / rtt_ms - 1, 4)
        delays.append(
            {
                "rtt_ms": rtt_ms,
                "extra_ms": round(extra_ms, 4),
                "error": round(error, 4),
                "idle_ms": round(idle_ms, 4),
                "proxy_error": proxy_error,
                "agrees": abs(proxy_error) <= AGREEMENT,
                "cpu_us_per_round_trip": round(cpu_us[(rtt_ms, 0.0)], 1),
            }
        )
    lateness_us = float(proxy.stats()["lateness_us"])  # the busier the machine, the later
    proxy.set_rtt(run_rtt_ms)
    return {
        "target": proxy.target,
        "rtt_ms": run_rtt_ms,
        "round_trips": per_block * BLOCKS,
        "direct_us": round(direct, 1),
        "through_proxy_us": round(at_zero, 1),
        "added_us": round(at_zero - direct, 1),
        "cpu_us_per_round_trip": round(cpu_us[(0.0, 0.0)], 1),
        "delays": delays,
        "wake_lateness_us": round(lateness_us, 1),
        "agreement": AGREEMENT,
    }


@contextmanager
def watching_proxies(proxies: dict[str, DelayProxy], manifest: Manifest) -> Iterator[None]:
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
            manifest.distance["proxies"].setdefault(kind, {})["load_cpu_share"] = round(share, 3)


def measure_proxies(
    proxies: dict[str, DelayProxy], direct: dict[str, str], distance: Distance, log: Log
) -> dict[str, Any]:
    """Each delay proxy's own cost and its delay as measured (pairbench.load.proxy_cost)."""
    found = {}
    for kind, proxy in proxies.items():
        rtt = distance.rtt_of(kind)
        cost = measure_proxy(proxy, direct[kind], (rtt, *distance.sweep_ms), rtt)
        delays = ", ".join(
            f"{delay['extra_ms']:.3f} ms at {delay['rtt_ms']:g} ({delay['error']:+.1%}, or "
            f"{delay['proxy_error']:+.1%} net of the {delay['idle_ms'] * 1000:.0f} µs that "
            f"idling as long costs; {delay['cpu_us_per_round_trip']:.0f} µs CPU)"
            for delay in cost["delays"]
        )
        added, cpu = cost["added_us"], cost["cpu_us_per_round_trip"]
        log(
            f"{kind} proxy: +{added:.0f} µs and {cpu:.0f} µs CPU per round trip at RTT 0; "
            f"per round trip it adds {delays or 'nothing else'}"
        )
        found[kind] = cost
    return found
