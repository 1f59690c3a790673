"""Single-flight: concurrent calls for one key share one execution instead of each running it."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """In-process call collapsing, per key (Go's x/sync/singleflight, for asyncio).

    The first caller for a key starts `work` as a task; callers that arrive while it
    runs await the same task. Its result or its exception goes to every one of them.
    The task is shielded: a caller that gives up (a client that disconnects) does not
    cancel the work the others are waiting for. Nothing is kept once the work is done:
    remembering answers is the cache's job, not this one's.
    """

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Task[T]] = {}

    async def do(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        """`work()`'s result, shared with every caller for `key` while it runs."""
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.create_task(self._run(work))
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._land(key, done))
        return await asyncio.shield(flight)

    def in_flight(self) -> int:
        """How many keys are being worked on right now."""
        return len(self._flights)

    @staticmethod
    async def _run(work: Callable[[], Awaitable[T]]) -> T:
        return await work()

    def _land(self, key: str, flight: asyncio.Task[T]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.cancelled():
            flight.exception()  # marks it retrieved: the callers got it, or gave up waiting
