"""Garbage collection per generation: how many collections, and how long they paused the app.

CPython's cyclic collector stops the whole process while it runs: every request in
flight waits, as it does for a blocking call. `gc.callbacks` is told when each
collection starts and stops; the watch times the pause between. /metrics exports the
running totals per generation; the harness reads each load segment's share from
GET /gc-pauses, kept in one-second bins (a record per collection would itself be a
growing heap under load, which is what is being watched).
"""

import gc
import math
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

KEPT_S = 600  # a segment's pauses are read when it ends; ten minutes is ample
GENERATIONS = (0, 1, 2)


class SecondBin:
    """The collections that ended in one second of unix time."""

    __slots__ = ("second", "collections", "pause_s", "max_pause_s")

    def __init__(self, second: int) -> None:
        self.second = second
        self.collections = 0
        self.pause_s = 0.0
        self.max_pause_s = 0.0


class GcWatch:
    """Collections and pause seconds per generation since it started, and per second of
    the last KEPT_S seconds (all generations together)."""

    def __init__(self) -> None:
        self.collections = dict.fromkeys(GENERATIONS, 0)
        self.pause_s = dict.fromkeys(GENERATIONS, 0.0)
        self.bins: deque[SecondBin] = deque(maxlen=KEPT_S)
        self._started: float | None = None

    def callback(self, phase: str, info: dict[str, Any]) -> None:
        """gc.callbacks' hook: called with "start" before a collection and "stop" after."""
        if phase == "start":
            self._started = time.perf_counter()
            return
        if self._started is None:  # watching began mid-collection
            return
        pause = time.perf_counter() - self._started
        self._started = None
        generation = int(info["generation"])
        self.collections[generation] = self.collections.get(generation, 0) + 1
        self.pause_s[generation] = self.pause_s.get(generation, 0.0) + pause
        second = int(time.time())
        if not self.bins or self.bins[-1].second != second:
            self.bins.append(SecondBin(second))
        current = self.bins[-1]
        current.collections += 1
        current.pause_s += pause
        current.max_pause_s = max(current.max_pause_s, pause)

    def between(self, since: float, until: float | None) -> list[SecondBin]:
        """The seconds with collections that overlap [since, until] (unix times)."""
        end = math.inf if until is None else until
        return [each for each in list(self.bins) if since - 1 < each.second <= end]


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
    """The collections of a time window, to the second (the harness reads one per segment)."""
    watch: GcWatch = request.app.state.gc_watch
    seconds = watch.between(since, until)
    return GcPauses(
        collections=sum(each.collections for each in seconds),
        pause_ms=sum(each.pause_s for each in seconds) * 1000,
        max_pause_ms=max((each.max_pause_s for each in seconds), default=0.0) * 1000,
    )
