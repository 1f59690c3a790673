"""Burst workload: every running user sends the same request at the same moment, repeatedly.

All users (K of them) wait for each other at a barrier and are released together, so
each burst is K identical requests arriving at once; the next burst starts when all
are back. This is what in-flight deduplication is for (request_coalescing).
"""

from locust import FastHttpUser, constant

from scenarios.stampede import Barrier


def make_user(name: str, path: str) -> type[FastHttpUser]:
    """A user that requests `path` in bursts together with every other running user."""
    barrier = Barrier()

    def burst(self: FastHttpUser) -> None:
        runner = self.environment.runner
        expected = runner.user_count if runner is not None else 1
        barrier.wait(expected, lambda: None)
        self.client.get(path, name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [burst]})
