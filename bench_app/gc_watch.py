"""Garbage collection per generation: how many collections, and how long they paused the app.

CPython's cyclic collector stops the whole process while it runs: every request in
flight waits, as it does for a blocking call. `gc.callbacks` is told when each
collection starts and stops; the watch times the pause between. /metrics exports the
running totals per generation; the harness reads each load segment's collections from
GET /gc-pauses.
"""

import gc
import math
import time
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

# The latest collections kept, each as (unix time it ended, pause): a ring allocated once,
# so watching adds nothing to the memory it is watched beside. Under heavy load a process
# collects some hundreds of times a second; a segment is read as soon as it ends.
CAPACITY = 2**16
GENERATIONS = (0, 1, 2)


class GcWatch:
    """Collections and pause seconds per generation since it started, and the pauses of
    the latest CAPACITY collections with the time each ended."""

    def __init__(self) -> None:
        self.collections = dict.fromkeys(GENERATIONS, 0)
        self.pause_s = dict.fromkeys(GENERATIONS, 0.0)
        self._ended = array("d", bytes(8 * CAPACITY))
        self._paused = array("d", bytes(8 * CAPACITY))
        self._recorded = 0  # collections recorded: the next goes at _recorded % CAPACITY
        self._started: float | None = None

    def callback(self, phase: str, info: dict[str, Any]) -> None:
        """gc.callbacks' hook: called with "start" before a collection and "stop" after."""
        if phase == "start":
            self._started = time.perf_counter()
            return
        if self._started is None:  # watching began mid-collection
            return
        pause = time.perf_counter() - self._started  # wall time: what requests waited
        self._started = None
        generation = int(info["generation"])
        self.collections[generation] = self.collections.get(generation, 0) + 1
        self.pause_s[generation] = self.pause_s.get(generation, 0.0) + pause
        slot = self._recorded % CAPACITY
        self._ended[slot] = time.time()
        self._paused[slot] = pause
        self._recorded += 1

    def between(self, since: float, until: float | None) -> list[float]:
        """The pauses (seconds) of the collections that ended in [since, until], unix times."""
        end = math.inf if until is None else until
        kept = min(self._recorded, CAPACITY)
        return [self._paused[slot] for slot in range(kept) if since <= self._ended[slot] <= end]


@contextmanager
def watching(watch: GcWatch) -> Iterator[GcWatch]:
    """Time every collection of this process into `watch` for the block."""
    gc.callbacks.append(watch.callback)
    try:
        yield watch
    finally:
        gc.callbacks.remove(watch.callback)


Since = Annotated[float, Query(ge=0, description="Unix time: collections from then on.")]
Until = Annotated[float | None, Query(ge=0, description="Unix time: collections until then.")]


class GcPauses(BaseModel):
    collections: int
    pause_ms: float
    max_pause_ms: float


router = APIRouter()


@router.get("/gc-pauses", response_model=GcPauses, include_in_schema=False)
async def gc_pauses(request: Request, since: Since = 0.0, until: Until = None) -> GcPauses:
    """The collections of a time window (the harness reads one per segment)."""
    watch: GcWatch = request.app.state.gc_watch
    pauses = watch.between(since, until)
    return GcPauses(
        collections=len(pauses),
        pause_ms=sum(pauses) * 1000,
        max_pause_ms=max(pauses, default=0.0) * 1000,
    )
