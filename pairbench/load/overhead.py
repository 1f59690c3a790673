"""What measuring costs: the app with its cost meter and /metrics, against the same app without.

The cost meter times every SQL statement, counts every Redis command and puts its
`x-cost` header on every response; /metrics times every request into a histogram.
Both spend the app's CPU, which every figure of a run then carries, and a variant that
sends 51 statements pays the statement hook 51 times: a heavy meter would tilt the ratios
it reports. So every quick and standard run measures it.

How: three instances of the app, one per configuration (nothing, the meter, the meter
and /metrics), side by side in this process on the run's servers, each behind
uvicorn's own HTTP protocol as `uvicorn` serves it, fed requests as bytes with no
socket in between. They serve a trivial route, a one-statement route, the catalog's
most metered request (51 statements) and the one that reads the most rows, taking turns
request by request (in a rotated order, so order falls on all alike), over many rounds:
on a busy shared machine the CPU time a batch costs swings by tens of percent from one
moment to the next, so configurations measured a batch apiece in turn see different
moments, while turns of one request each see the same ones. Each request records the
CPU time this thread spent: uvicorn's parsing and writing, the app's middleware and endpoint, the
driver's work; not the waits for PostgreSQL. On a shared machine a server's
throughput moves with whatever else runs; the CPU time a request costs is its own, and
a single app process at saturation serves 1 / (CPU time per request) requests a
second, so the relative rise in CPU time per request is the throughput the meter
costs. (The kernel's socket work, the same in every configuration, is left out,
so the figure is an upper bound.)

A heavy request (thousands of objects: the ORM's rows) is timed from a collected heap:
the collections its own allocations set off are in its time, a full collection that
earlier requests' garbage set off is not. That one fell on whichever configuration's
request came next: "every post" came out at +21% [-17.5, +37.6] in a quick run, and in
four measurements here (meter and meter+metrics, two runs) its CIs were 27-42 points wide;
timed from a collected heap, 2.3-2.9 points.
"""

import asyncio
import gc
import logging
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pandas as pd
import uvicorn
from fastapi import FastAPI
from uvicorn.server import ServerState

from bench_app.main import create_app
from bench_app.settings import Settings
from pairbench import results
from pairbench.console import Log

# Configuration -> the settings that make it (bench_app.settings). "off" is the floor.
CONFIGURATIONS: dict[str, dict[str, bool]] = {
    "off": {"meter": False, "metrics": False},
    "meter": {"meter": True, "metrics": False},
    "meter+metrics": {"meter": True, "metrics": True},
}
TARGETS = {
    # The smallest requests, where a fixed cost per request weighs the most,
    "trivial": "/health/live",  # no I/O: what the middleware costs alone
    "one statement": "/health",  # SELECT 1: the middleware and one statement's hooks
    # and the catalog's most metered one, where the hooks add up: every statement timed,
    # every row counted (n_plus_one's naive variant at its defaults: 51 statements).
    "51 statements": "/n-plus-one/naive?authors=50",
    # and the one that reads the most rows, where any work per row would show: pagination's
    # naive variant reads every post (9,938 at scale 1) for one page of 20.
    "every post": "/pagination/naive",
}
# 25 rounds x 3 configurations x (2 light targets x 30 requests + 2 of each heavy one):
# 4,800 requests; on a quiet 2-core machine ~6 s for the light ones, ~11 s for the heavy.
ROUNDS = 25
TURNS = 30  # requests per configuration, target and round, one turn each
# fewer where a request takes milliseconds of CPU
TARGET_TURNS = {"51 statements": 2, "every post": 2}
WARMUP_REQUESTS = 100  # per app and light target (fewer for a heavy one, as its turns): lazy
# imports, the pool's first connections
TIMEOUT_S = 120.0  # for the whole measurement: past it, something is stuck


class OverheadError(Exception):
    """The overhead measurement could not run; the message says what failed."""


class MemoryTransport(asyncio.Transport):
    """A connection without a socket: what uvicorn's protocol writes is kept in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        addresses = {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 40000)}
        return addresses.get(name, default)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class ServedInMemory:
    """One app behind uvicorn's HTTP protocol (as `uvicorn` would serve it), on one
    keep-alive connection fed from memory."""

    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning")
        config.load()
        self.state = ServerState()
        self.transport = MemoryTransport()
        self.protocol: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
            config=config, server_state=self.state, app_state={}
        )
        self.protocol.connection_made(self.transport)

    async def get(self, path: str) -> int:
        """GET `path` and wait for the whole response; its status code."""
        self.transport.written.clear()
        self.protocol.data_received(f"GET {path} HTTP/1.1\r\nHost: overhead\r\n\r\n".encode())
        while self.state.tasks:
            await asyncio.wait(set(self.state.tasks))
        status_line = bytes(self.transport.written[:12])
        return int(status_line[9:12]) if status_line.startswith(b"HTTP/1.1 ") else 0

    def close(self) -> None:
        self.protocol.connection_lost(None)


async def timed_get(
    served: ServedInMemory, path: str, collect_first: bool = False
) -> tuple[bool, float, float]:
    """GET `path` once: (whether it failed, CPU seconds, wall seconds); after a full
    collection, untimed, with `collect_first`."""
    if collect_first:
        gc.collect()
    started_cpu, started_wall = time.thread_time(), time.perf_counter()
    failed = not 200 <= await served.get(path) < 300
    return failed, time.thread_time() - started_cpu, time.perf_counter() - started_wall


def turns_of(target: str) -> int:
    return TARGET_TURNS.get(target, TURNS)


async def _measure(settings: Settings, rounds: int) -> list[dict[str, object]]:
    names = list(CONFIGURATIONS)
    apps = [create_app(settings.model_copy(update=CONFIGURATIONS[name])) for name in names]
    rows: list[dict[str, object]] = []
    async with AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
        served = {name: ServedInMemory(app) for name, app in zip(names, apps, strict=True)}
        for server in served.values():
            stack.callback(server.close)
        for target, path in TARGETS.items():
            for server in served.values():
                for _ in range(WARMUP_REQUESTS * turns_of(target) // TURNS):
                    await timed_get(server, path)
        for round_number in range(rounds):
            for target, path in TARGETS.items():
                totals = {name: [0, 0.0, 0.0] for name in names}  # failures, CPU s, wall s
                turns = turns_of(target)
                for turn in range(turns):
                    shift = turn % len(names)  # each configuration goes first as often
                    for name in names[shift:] + names[:shift]:
                        measured = await timed_get(
                            served[name], path, collect_first=target in TARGET_TURNS
                        )
                        totals[name] = [a + b for a, b in zip(totals[name], measured, strict=True)]
                for name, (failures, cpu, wall) in totals.items():
                    rows.append(
                        {
                            "target": target,
                            "path": path,
                            "config": name,
                            "round": round_number,
                            "requests": turns,
                            "failures": failures,
                            "cpu_s": cpu,
                            "wall_s": wall,
                            "cpu_us_per_request": cpu / turns * 1e6,
                        }
                    )
    return rows


def measure_overhead(
    run_dir: Path, settings: Settings, log: Log, rounds: int = ROUNDS
) -> pd.DataFrame:
    """Measure every configuration on every target, interleaved; writes overhead.csv."""
    log(
        f"measuring what measuring costs: {', '.join(CONFIGURATIONS)}, on the "
        f"{' and '.join(TARGETS)} routes, {rounds} interleaved rounds ..."
    )
    started = time.perf_counter()
    quiet = logging.getLogger("bench_app.slow_queries")  # a busy machine's SELECT 1 is no news
    level, quiet.level = quiet.level, logging.ERROR
    try:
        rows = asyncio.run(asyncio.wait_for(_measure(settings, rounds), TIMEOUT_S))
    except TimeoutError:
        raise OverheadError(f"it took over {TIMEOUT_S:.0f} s: stopped") from None
    except Exception as error:  # what measures the harness must never stop the run
        raise OverheadError(f"{type(error).__name__}: {error}") from error
    finally:
        quiet.setLevel(level)
    table = pd.DataFrame(rows, columns=results.OVERHEAD_COLUMNS)
    failed = int(table["failures"].sum())
    if failed:
        raise OverheadError(f"{failed} of its {int(table['requests'].sum())} requests failed")
    table.to_csv(run_dir / results.OVERHEAD, index=False)
    log(f"    measured in {time.perf_counter() - started:.0f} s")
    return table
