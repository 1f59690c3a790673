"""Event-loop lag: how late the loop runs a callback that was due now.

Blocking code inside `async def` (a synchronous driver call, a CPU-heavy loop) stalls
every request the process serves, not just its own; the loop's lag is where that
shows. A task sleeps a fixed interval and records how much later than asked it woke.
Minimal on purpose: the metrics read `latest_s` and `max_s`, whatever fills them.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class LoopLagSampler:
    """The loop's lag, sampled every `interval_s`: the latest and the largest since read."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.latest_s = 0.0
        self.max_s = 0.0  # the largest since the last take_max()

    def take_max(self) -> float:
        """The largest lag since the last call (a scrape), then start over."""
        largest, self.max_s = max(self.max_s, self.latest_s), 0.0
        return largest

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            self.latest_s = max(0.0, loop.time() - due)
            self.max_s = max(self.max_s, self.latest_s)


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
