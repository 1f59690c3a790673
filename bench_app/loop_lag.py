"""Event-loop lag: how late a periodic task wakes, sampled for the app's whole life.

A task asks to sleep INTERVAL_S and measures how much later than that it woke. On an
idle loop it is a fraction of a millisecond; when a request blocks the loop (a
synchronous call, CPU-bound work inside `async def`), every other task, this one and
every other request, waits the same extra time. The harness reads the samples of each
load segment's window from GET /loop-lag.
"""

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel

INTERVAL_S = 0.01
KEPT_S = 600.0  # a segment's samples are read when it ends; ten minutes is ample
Since = Annotated[float, Query(ge=0, description="Unix time: samples from then on.")]
Until = Annotated[float | None, Query(ge=0, description="Unix time: samples until then.")]


class LoopLagMonitor:
    """Samples of (unix time woken, lag in ms), the last KEPT_S seconds of them."""

    def __init__(self) -> None:
        self.samples: deque[tuple[float, float]] = deque(maxlen=int(KEPT_S / INTERVAL_S))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + INTERVAL_S
            await asyncio.sleep(INTERVAL_S)
            self.samples.append((time.time(), (loop.time() - due) * 1000.0))

    def between(self, since: float, until: float | None) -> list[float]:
        """The lags (ms) sampled in [since, until]."""
        end = float("inf") if until is None else until
        return [lag for woke, lag in list(self.samples) if since <= woke <= end]


class LoopLag(BaseModel):
    interval_ms: float
    lags_ms: list[float]


router = APIRouter()


@router.get("/loop-lag", response_model=LoopLag, include_in_schema=False)
async def loop_lag(request: Request, since: Since = 0.0, until: Until = None) -> LoopLag:
    """The event-loop lag samples of a time window (the harness reads one per load segment)."""
    monitor: LoopLagMonitor = request.app.state.loop_lag
    return LoopLag(interval_ms=INTERVAL_S * 1000.0, lags_ms=monitor.between(since, until))


@asynccontextmanager
async def sampling_loop_lag(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan: sample the lag while the app runs."""
    app.state.loop_lag = monitor = LoopLagMonitor()
    task = asyncio.create_task(monitor.run())
    try:
        yield
    finally:
        task.cancel()
