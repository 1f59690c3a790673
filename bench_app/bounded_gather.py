"""Run many awaitables concurrently, at most `limit` at a time, results in call order."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def gather_bounded(calls: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Each call's result, in order; no more than `limit` of them running at once.

    A TaskGroup, so the first failure cancels the calls still running and is raised,
    rather than leaving orphans working for a request that has already failed.
    """
    gate = asyncio.Semaphore(limit)

    async def bounded(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(bounded(call)) for call in calls]
    return [task.result() for task in tasks]
