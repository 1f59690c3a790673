"""The event-loop lag sampler: blocking the loop shows as lag."""

import asyncio
import time

from bench_app.loop_lag import LoopLagSampler, sampling

BLOCK_S = 0.2


async def test_a_blocked_loop_shows_its_lag() -> None:
    async with sampling(LoopLagSampler(interval_s=0.01)) as sampler:
        await asyncio.sleep(0.05)
        sampler.take_max()
        time.sleep(BLOCK_S)  # blocking the loop, as a sync call in `async def` would
        await asyncio.sleep(0.05)  # the sampler wakes, late by about BLOCK_S
        assert sampler.take_max() >= BLOCK_S / 2
