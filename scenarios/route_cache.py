"""Route-cache workload: one URL asked by a working set of users, each for their own answer.

Every request comes from the next caller of the technique's working set (ids 1 ..
WORKING_SET, in turn, across all the load users), with the gateway's headers naming the
caller and their role (the technique's `caller`: the seed's mix of roles). So each
caller's entry is read until their role's TTL runs out, then recomputed once.
"""

import itertools

from locust import FastHttpUser, constant

from bench_app.principal import principal_headers
from bench_app.target import Target
from bench_app.techniques.route_cache import WORKING_SET, caller


def make_user(name: str, target: Target) -> type[FastHttpUser]:
    """A closed-loop user requesting `target` as the next caller of the working set."""
    url = target.url
    callers = itertools.cycle(
        [principal_headers(user_id, caller(user_id).role) for user_id in range(1, WORKING_SET + 1)]
    )

    def ask(self: FastHttpUser) -> None:
        headers = next(callers)
        # The caller is part of the request: the equivalence check on answers sampled under
        # load asks the baseline with the same headers (pairbench.load.answer_sample).
        self.client.get(url, name=name, headers=headers, context={"request_headers": headers})

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [ask]})
