"""Export workload: downloads of the CSV back to back, a few at a time (scenarios.turns).

Each download reads the body as it arrives and records its time to first byte beside
its time to the last.
"""

from locust import FastHttpUser, constant

from bench_app.target import Target
from scenarios.download import timed_download
from scenarios.turns import in_turn, turns


def make_user(name: str, target: Target) -> type[FastHttpUser]:
    """A closed-loop user downloading `target` whole when its turn comes."""
    url = target.url
    turn = turns()

    def download(self: FastHttpUser) -> None:
        in_turn(self, turn, lambda: timed_download(self, url, name))

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [download]})
