"""Event-loop lag: how late the loop runs a callback that was due now.

Blocking code inside `async def` (a synchronous driver call, a CPU-heavy loop) stalls
every request the process serves, not just its own; the loop's lag is where that
shows. A task sleeps a fixed interval and records how much later than asked it woke.
The metrics read `latest_s` and `max_s`; the harness reads each load segment's samples
from GET /loop-lag (pairbench.load.segment_figures).
"""

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

KEPT_S = 600.0  # a segment's samples are read when it ends; ten minutes is ample


class LoopLagSampler:
    """The loop's lag, sampled every `interval_s`: the latest and the largest since read,
    and the samples of the last KEPT_S seconds as (unix time woken, lag in seconds)."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.latest_s = 0.0
        self.max_s = 0.0  # the largest since the last take_max()
        self.samples: deque[tuple[float, float]] = deque(maxlen=int(KEPT_S / interval_s))

    def take_max(self) -> float:
        """The largest lag since the last call (a scrape), then start over."""
        largest, self.max_s = max(self.max_s, self.latest_s), 0.0
        return largest

    def between(self, since: float, until: float | None) -> list[float]:
        """The lags (seconds) sampled in [since, until], unix times."""
        end = float("inf") if until is None else until
        return [lag for woke, lag in list(self.samples) if since <= woke <= end]

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            self.latest_s = max(0.0, loop.time() - due)
            self.max_s = max(self.max_s, self.latest_s)
            self.samples.append((time.time(), self.latest_s))


@asynccontextmanager
async def sampling(sampler: LoopLagSampler) -> AsyncIterator[LoopLagSampler]:
    """Run `sampler` on the current loop for the block."""
    task = asyncio.create_task(sampler.run(), name="loop-lag-sampler")
    try:
        yield sampler
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass


Since = Annotated[float, Query(ge=0, description="Unix time: samples from then on.")]
Until = Annotated[float | None, Query(ge=0, description="Unix time: samples until then.")]


class LoopLag(BaseModel):
    interval_ms: float
    lags_ms: list[float]


router = APIRouter()


@router.get("/loop-lag", response_model=LoopLag, include_in_schema=False)
async def loop_lag(request: Request, since: Since = 0.0, until: Until = None) -> LoopLag:
    """The event-loop lag samples of a time window (the harness reads one per load segment)."""
    sampler: LoopLagSampler = request.app.state.loop_lag
    lags = sampler.between(since, until)
    return LoopLag(interval_ms=sampler.interval_s * 1000, lags_ms=[lag * 1000 for lag in lags])
