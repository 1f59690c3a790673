"""How much memory Redis holds, for the harness: a load segment's growth, read before and after.

What a technique leaves in Redis (job_records' finished jobs' records) is memory too, but
not the app's: `INFO memory`'s used_memory, the bytes Redis's allocator holds for data.
Asked through the app, like the event-loop lag, so the harness needs no Redis client; a
user's own app (`pairbench ab`) has no such route, and its segments go without.
"""

from fastapi import APIRouter, Request
from pydantic import BaseModel


class RedisMemory(BaseModel):
    used_memory: int  # bytes


router = APIRouter()


@router.get("/redis-memory", response_model=RedisMemory, include_in_schema=False)
async def redis_memory(request: Request) -> RedisMemory:
    """Redis's used_memory now (INFO memory); outside any measured request's cost."""
    info = await request.app.state.redis.info("memory")
    return RedisMemory(used_memory=int(info["used_memory"]))
