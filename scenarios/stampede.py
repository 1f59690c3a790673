"""Stampede workload: bursts of K concurrent requests, each arriving just after the key expired.

All running users (K of them) wait for each other at a barrier. The last to arrive
expires the cached key, outside the measured requests (it stands for the TTL running
out), and releases the others: all K then request the variant at once. The next burst
starts when every user is back at the barrier, so the bursts never overlap.
"""

import time
import urllib.request
from collections.abc import Callable

from gevent.event import Event
from locust import FastHttpUser, constant
from locust.runners import STATE_RUNNING, STATE_SPAWNING

from bench_app.target import Target
from bench_app.techniques.stampede import TECHNIQUE

BARRIER_TIMEOUT_S = 5.0  # a user that never arrives (stopping, slow) holds a burst no longer
POLL_S = 0.05  # how often a waiting user checks whether the segment is over
EXPIRE_TIMEOUT_S = 10.0


class Barrier:
    """Releases the waiting users together once all running users have arrived."""

    def __init__(self) -> None:
        self.arrived = 0
        self.released = Event()

    def wait(
        self, expected: int, on_release: Callable[[], None], stopping: Callable[[], bool]
    ) -> bool:
        """Whether the burst was released; False if given up (stopping, or too long)."""
        self.arrived += 1
        if self.arrived >= expected:
            released, self.released, self.arrived = self.released, Event(), 0
            on_release()
            released.set()
            return True
        waiting_for = self.released
        deadline = time.monotonic() + BARRIER_TIMEOUT_S
        while not waiting_for.wait(timeout=POLL_S):
            if stopping() or time.monotonic() > deadline:
                if self.released is waiting_for:
                    self.arrived -= 1  # gave up on this burst: no longer waiting for it
                return False
        return True


def make_user(name: str, target: Target) -> type[FastHttpUser]:
    """A user that requests `target` in bursts together with every other running user."""
    barrier = Barrier()
    url = target.url
    # The technique's expire route, with the target's params: the same cache key.
    expire_url = TECHNIQUE.route_target("expire", target.params).url

    def expire(host: str) -> None:
        request = urllib.request.Request(f"{host}{expire_url}", method="POST")
        with urllib.request.urlopen(request, timeout=EXPIRE_TIMEOUT_S) as response:
            response.read()

    def burst(self: FastHttpUser) -> None:
        runner = self.environment.runner
        expected = runner.user_count if runner is not None else 1

        def stopping() -> bool:  # the segment is over: no burst will be released
            return runner is not None and runner.state not in (STATE_SPAWNING, STATE_RUNNING)

        if barrier.wait(expected, lambda: expire(self.host), stopping):
            self.client.get(url, name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [burst]})
