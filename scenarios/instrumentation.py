"""Instrumentation's Locust user: every request for another user id, so paths are distinct.

The variant's route names a user id (`/instrumentation/naive/users/{user_id}`); the user
fills it with the next id of a walk over 1..WORKLOAD_USERS, one walk per variant shared by
all its users and segments in the generator process, so once a variant has served that
many requests every id has been asked once. The raw-path histogram then holds a label
set per id; the route-template one still holds one.
"""

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bench_app.target import Target
from bench_app.techniques.instrumentation import WORKLOAD_USERS

if TYPE_CHECKING:
    from locust import FastHttpUser


WALKS: dict[str, Iterator[int]] = {}  # variant's route path -> its walk, across segments


def id_walk(route: str, count: int = WORKLOAD_USERS) -> Iterator[int]:
    """The walk of `route`'s ids: 1, 2, ..., count, 1, 2, ..., every id once per lap."""
    return WALKS.setdefault(route, itertools.cycle(range(1, count + 1)))


def make_user(name: str, target: Target) -> "type[FastHttpUser]":
    """A closed-loop user (no think time) requesting the variant for one id after another."""
    from locust import FastHttpUser, constant  # here: importing Locust monkey-patches gevent

    ids = id_walk(target.path)

    def request_next_user(self: Any) -> None:
        self.client.get(target.with_params(user_id=next(ids)).url, name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [request_next_user]})
