"""Invalidation workload: one user invalidates, the others read, each kind measured apart.

The first user started is an invalidation job: it drops users' keys one user at a
time, asking for INVALIDATIONS_PER_S of them a second. A variant slower than that
runs back to back (the job falls behind, which is part of its cost); a faster one
waits between users. Either way the demand is the same for every variant. Its requests
are the variant's own (the name the harness gives them), so their costs are exactly an
invalidation's.

Every other user is a reader at a fixed arrival rate (open loop): each read starts on
schedule, in its own greenlet, whether or not earlier ones have finished. A closed-loop
reader stuck behind a blocked Redis would simply stop asking, and the stall would
show up as a handful of slow samples instead of every read it delayed. Reads are named
READ_NAME: their latency is a distribution of its own, what a concurrent reader suffers.
"""

import itertools
import random

from gevent.pool import Group
from locust import FastHttpUser, constant_throughput

from bench_app.target import Target
from bench_app.techniques.invalidation import (
    INVALIDATED_USERS,
    KEYS_PER_USER,
    READ_USERS,
    TECHNIQUE,
)

INVALIDATIONS_PER_S = 20.0  # the job's demand: users to invalidate per second, one at a time
READS_PER_S = 25.0  # per reader; far below what the app serves, so reads measure Redis
READ_CONCURRENCY = 64  # connections per reader: reads held up by Redis must not queue here
READ_NAME = "read"


def make_user(name: str, target: Target) -> type[FastHttpUser]:
    """Users for one invalidation variant: the first an invalidation job, the rest readers.

    The job's requests are named `name` (the variant's own), the readers' READ_NAME."""
    started = itertools.count()
    read = TECHNIQUE.route_target("read")
    invalidation_pace = constant_throughput(INVALIDATIONS_PER_S)
    read_pace = constant_throughput(READS_PER_S)

    class InvalidationUser(FastHttpUser):
        concurrency = READ_CONCURRENCY

        def on_start(self) -> None:
            self.number = next(started)
            self.is_invalidator = self.number == 0
            self.next_users = itertools.cycle(INVALIDATED_USERS)
            self.random = random.Random(self.number)  # each reader its own, reproducible, keys
            self.reads = Group()

        def on_stop(self) -> None:
            self.reads.kill(block=False)  # reads still in flight are not this segment's to record

        def wait_time(self) -> float:
            pace = invalidation_pace if self.is_invalidator else read_pace
            waited: float = pace(self)
            return waited

        def step(self) -> None:
            if self.is_invalidator:
                self.client.get(target.with_params(user_id=next(self.next_users)).url, name=name)
                return
            user_id = self.random.choice(READ_USERS)
            url = read.with_params(user_id=user_id, item=self.random.randrange(KEYS_PER_USER)).url
            self.reads.spawn(self.client.get, url, name=READ_NAME)

        tasks = [step]

    InvalidationUser.__name__ = InvalidationUser.__qualname__ = name
    return InvalidationUser
