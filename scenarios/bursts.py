"""Burst workload: every running user sends the same request at the same moment, repeatedly.

All users (K of them) wait for each other at a barrier and are released together, so
each burst is K identical requests arriving at once; the next burst starts when all
are back. This is what in-flight deduplication is for (request_coalescing).
"""

from locust import FastHttpUser, constant
from locust.runners import STATE_RUNNING, STATE_SPAWNING

from bench_app.target import Target
from scenarios.stampede import Barrier


def make_user(name: str, target: Target) -> type[FastHttpUser]:
    """A user that requests `target` in bursts together with every other running user."""
    url = target.url
    barrier = Barrier()

    def burst(self: FastHttpUser) -> None:
        runner = self.environment.runner
        expected = runner.user_count if runner is not None else 1

        def stopping() -> bool:  # the segment is over: no burst will be released
            return runner is not None and runner.state not in (STATE_SPAWNING, STATE_RUNNING)

        if barrier.wait(expected, lambda: None, stopping):
            self.client.get(url, name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [burst]})
