"""Heavy requests (exports, imports) taken in turns: only a few run at once.

A CSV export or import is asked for now and then, not by every user at the same
moment, and a handful at once is what decides a server's memory. The users of such a
workload share one set of turns: HEAVY_AT_ONCE requests are always running, and the
other users wait for a turn, untimed.
"""

from gevent.lock import BoundedSemaphore

HEAVY_AT_ONCE = 2


def turns() -> BoundedSemaphore:
    """A fresh set of HEAVY_AT_ONCE turns, for one user class (one workload)."""
    return BoundedSemaphore(HEAVY_AT_ONCE)
