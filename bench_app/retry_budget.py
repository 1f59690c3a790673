"""A retry budget: retries allowed as a share of the calls made, so they cannot multiply load."""

import random


class RetryBudget:
    """Retries as a share of first attempts (Finagle's RetryBudget, gRPC's retry throttling).

    Every first attempt deposits `ratio` of a retry; every retry withdraws a whole one, and
    is refused when less than one is left. So retries stay under `ratio` of the calls over
    time, however many fail: an overloaded upstream gets at most 1 + ratio times its load,
    where unbudgeted retries multiply it by the attempts. `reserve` retries are there at
    the start (and the balance never grows past it), so a quiet app may still retry a
    rare failure. One budget per upstream, shared by every request the app serves.
    """

    def __init__(self, ratio: float, reserve: float) -> None:
        self.ratio = ratio
        self.reserve = reserve
        self.balance = reserve

    def deposit(self) -> None:
        """A first attempt was made: it earns `ratio` of a retry."""
        self.balance = min(self.reserve, self.balance + self.ratio)

    def withdraw(self) -> bool:
        """Whether a retry may be made now; if so, it is paid for."""
        if self.balance < 1.0:
            return False
        self.balance -= 1.0
        return True


def full_jitter_s(retry: int, base_s: float, cap_s: float) -> float:
    """How long to wait before retry number `retry` (1, 2, ...): exponential backoff with
    full jitter, a uniform draw from 0 to min(cap, base x 2^(retry-1)) (AWS's "Exponential
    Backoff and Jitter"): the waits double, and the jitter spreads the retries of callers
    that failed together, so they do not come back together."""
    return random.uniform(0.0, min(cap_s, base_s * 2 ** (retry - 1)))
