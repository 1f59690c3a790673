"""Stalling-upstream workload: the variant's requests at a fixed rate, beside bystanders.

Half the users send the variant's requests at ARRIVALS_PER_S each, every one on schedule
in its own greenlet whether or not earlier ones have answered (open loop within the
user): traffic does not slow down because an upstream stalls, and a closed-loop user
stuck in a stall would simply stop asking, hiding the pile-up. Each request asks for the
next item, 1, 2, 3, ..., ITEMS, 1, ... so every variant meets the upstream's stalled
items (a fixed share of them) equally often. The other half are bystanders: steady
requests, a short pause apart, to the technique's bystander route, named "bystander".

At a segment's end a user waits for its requests in flight (sent in the measured window,
so they count; up to DRAIN_TIMEOUT_S) before it stops: cutting off the slowest would
flatter the variant.
"""

import itertools

from gevent.pool import Group
from locust import FastHttpUser, constant_throughput

from bench_app.target import Target
from scenarios.bystanders import bystander_user

ITEMS = 1000
ARRIVALS_PER_S = 10.0  # per arrivals user: 40 a second from 4 of them (8 users)
CONCURRENCY = 128  # connections per arrivals user: requests held up must not queue here
BYSTANDER_PAUSE_S = 0.1
DRAIN_TIMEOUT_S = 20.0


def make_users(name: str, target: Target, bystander: Target) -> list[type[FastHttpUser]]:
    """[the arrivals user of `target`, the user of `bystander`], in equal numbers."""
    walk = itertools.count()
    pace = constant_throughput(ARRIVALS_PER_S)

    class ArrivalsUser(FastHttpUser):
        concurrency = CONCURRENCY

        def on_start(self) -> None:
            self.in_flight = Group()

        def on_stop(self) -> None:
            self.in_flight.join(timeout=DRAIN_TIMEOUT_S)
            self.in_flight.kill(block=False)

        def wait_time(self) -> float:
            waited: float = pace(self)
            return waited

        def send_next(self) -> None:
            url = target.with_params(item=next(walk) % ITEMS + 1).url
            self.in_flight.spawn(self.client.get, url, name=name)

        tasks = [send_next]

    ArrivalsUser.__name__ = ArrivalsUser.__qualname__ = name
    return [ArrivalsUser, bystander_user(name, bystander, BYSTANDER_PAUSE_S)]
