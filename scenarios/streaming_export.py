"""Export workload: downloads of the CSV back to back, at most DOWNLOADS_AT_ONCE at a time.

An export is heavy and asked for now and then, not by every user at once: the users
take turns, so that DOWNLOADS_AT_ONCE downloads are always running. The wait for a turn
is not timed. Each download reads the body as it arrives and records its time to first
byte beside its time to the last.
"""

from gevent.lock import BoundedSemaphore
from locust import FastHttpUser, constant

from scenarios.download import timed_download

DOWNLOADS_AT_ONCE = 2


def make_user(name: str, path: str) -> type[FastHttpUser]:
    """A closed-loop user downloading `path` whole when its turn comes."""
    turns = BoundedSemaphore(DOWNLOADS_AT_ONCE)

    def download(self: FastHttpUser) -> None:
        with turns:
            timed_download(self, path, name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [download]})
