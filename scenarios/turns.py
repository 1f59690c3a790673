"""Heavy requests (exports, imports) taken in turns: only a few run at once.

A CSV export or import is asked for now and then, not by every user at the same
moment, and a handful at once is what decides a server's memory. The users of such a
workload share one set of turns: HEAVY_AT_ONCE requests are always running, and the
other users wait for a turn, untimed. A turn that comes after the segment began to stop
is passed up: its request would only be cool-down, and would hold the stop.
"""

from collections.abc import Callable

from gevent.lock import BoundedSemaphore
from locust import User
from locust.runners import STATE_CLEANUP, STATE_STOPPED, STATE_STOPPING

HEAVY_AT_ONCE = 2
STOPPING = (STATE_CLEANUP, STATE_STOPPING, STATE_STOPPED)


def turns() -> BoundedSemaphore:
    """A fresh set of HEAVY_AT_ONCE turns, for one user class (one workload)."""
    return BoundedSemaphore(HEAVY_AT_ONCE)


def in_turn(user: User, turn: BoundedSemaphore, request: Callable[[], None]) -> None:
    """Send `request` when a turn comes, unless the segment has begun to stop meanwhile."""
    with turn:
        runner = user.environment.runner
        if runner is None or runner.state not in STOPPING:
            request()
