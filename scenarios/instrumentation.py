"""Instrumentation's Locust user: every request for another user id, so paths are distinct.

The variant's URL ends in a user id (`/instrumentation/naive/users/1`); the user swaps
it for the next id of a walk over 1..WORKLOAD_USERS, one walk per variant shared by all
its users and segments in the generator process, so once a variant has served that
many requests every id has been asked once. The raw-path histogram then holds a label
set per id; the route-template one still holds one.
"""

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bench_app.techniques.instrumentation import WORKLOAD_USERS

if TYPE_CHECKING:
    from locust import FastHttpUser


WALKS: dict[str, Iterator[int]] = {}  # variant path prefix -> its walk, across segments


def id_walk(prefix: str, count: int = WORKLOAD_USERS) -> Iterator[int]:
    """The walk of `prefix`'s ids: 1, 2, ..., count, 1, 2, ..., every id once per lap."""
    return WALKS.setdefault(prefix, itertools.cycle(range(1, count + 1)))


def make_user(name: str, path: str) -> "type[FastHttpUser]":
    """A closed-loop user (no think time) requesting the variant for one id after another."""
    from locust import FastHttpUser, constant  # here: importing Locust monkey-patches gevent

    prefix = path.partition("?")[0].rsplit("/", 1)[0]
    ids = id_walk(prefix)

    def request_next_user(self: Any) -> None:
        self.client.get(f"{prefix}/{next(ids)}", name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [request_next_user]})
