"""How much CPU an async HTTP client spends per call, by concurrency: httpx vs aiohttp.

Why bench_app's async upstream client is aiohttp's (see bench_app/upstream_client.py).
Run it against a stub of its own: `.venv/bin/python -m scenarios.http_client_cost`.
Prints calls per second and CPU milliseconds per call of this process, for each client,
upstream latency (0 and 10 ms) and number of calls in flight (1, 80, 400), with a pool
of 160 connections as the app's.
"""

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx

from pairbench.env.upstream import running_upstream
from pairbench.env.upstream_stub import StubConfig

CALLS = 2000
WARM_UP_CALLS = 200
POOL = 160
Run = Callable[[str, int], Awaitable[tuple[float, float]]]


async def _timed(call: Callable[[int], Awaitable[None]], concurrency: int) -> tuple[float, float]:
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            await call(n)

    await asyncio.gather(*(one(n) for n in range(WARM_UP_CALLS)))
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(n) for n in range(CALLS)))
    return time.perf_counter() - wall, time.process_time() - cpu


async def with_httpx(url: str, concurrency: int) -> tuple[float, float]:
    limits = httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
    async with httpx.AsyncClient(base_url=url, limits=limits) as client:

        async def call(n: int) -> None:
            (await client.get(f"/items/{n}")).json()

        return await _timed(call, concurrency)


async def with_aiohttp(url: str, concurrency: int) -> tuple[float, float]:
    connector = aiohttp.TCPConnector(limit=POOL, limit_per_host=POOL)
    async with aiohttp.ClientSession(url, connector=connector) as client:

        async def call(n: int) -> None:
            async with client.get(f"/items/{n}") as response:
                await response.json()

        return await _timed(call, concurrency)


def main() -> None:
    clients: dict[str, Run] = {"httpx": with_httpx, "aiohttp": with_aiohttp}
    log = Path(tempfile.gettempdir()) / "http_client_cost_stub.log"
    for latency_ms in (0.0, 10.0):
        with running_upstream(log, lambda _: None, StubConfig(latency_ms=latency_ms)) as stub:
            for concurrency in (1, 80, 400):
                for name, run in clients.items():
                    wall, cpu = asyncio.run(run(stub.url, concurrency))
                    print(
                        f"latency {latency_ms:>4.0f} ms  in flight {concurrency:>3}  {name:8}"
                        f" {CALLS / wall:7.0f} calls/s  {cpu / CALLS * 1000:6.3f} ms CPU per call",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
