"""How much memory Redis holds, for the harness: a load segment's growth, read before and after.

What a technique leaves in Redis (job_records' finished jobs' records) is memory too, but
not the app's: `INFO memory`'s used_memory, less what its clients' buffers hold
(mem_clients_normal and mem_clients_slaves). Those come and go with connections and their
traffic, not with data: with the job worker's blocked dequeues and the app's pool
connected, they moved used_memory by megabytes within segments that stored nothing. What
is left still rises while load runs (replies, scripts, pub/sub) and takes a moment to fall
back once it stops; asked to settle, the route reads again every SETTLE_INTERVAL_S until
two readings agree within SETTLED_BYTES (at most SETTLE_MAX_S).
Asked through the app, like the event-loop lag, so the harness needs no Redis client; a
user's own app (`pairbench ab`) has no such route, and its segments go without.
"""

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

CLIENT_BUFFERS = ("mem_clients_normal", "mem_clients_slaves")
SETTLE_INTERVAL_S = 0.05
SETTLED_BYTES = 8 * 1024
SETTLE_MAX_S = 3.0


class RedisMemory(BaseModel):
    used_memory: int  # bytes, less the clients' buffers
    settled: bool  # two readings agreed (only asked with settle)


router = APIRouter()


async def _reading(request: Request) -> int:
    info = await request.app.state.redis.info("memory")
    buffers = sum(int(info.get(name, 0)) for name in CLIENT_BUFFERS)
    return int(info["used_memory"]) - buffers


@router.get("/redis-memory", response_model=RedisMemory, include_in_schema=False)
async def redis_memory(
    request: Request,
    settle: Annotated[bool, Query(description="Read until two readings agree.")] = False,
) -> RedisMemory:
    """Redis's used_memory now, less its clients' buffers (INFO memory)."""
    reading = await _reading(request)
    deadline = time.monotonic() + SETTLE_MAX_S
    while settle and time.monotonic() < deadline:
        await asyncio.sleep(SETTLE_INTERVAL_S)
        previous, reading = reading, await _reading(request)
        if abs(reading - previous) <= SETTLED_BYTES:
            return RedisMemory(used_memory=reading, settled=True)
    return RedisMemory(used_memory=reading, settled=False)
