"""bounded_cache's key stream: a long run of addresses each asked once, plus a few busy ones.

HOT_SHARE of the requests ask for one of HOT_ADDRESSES (the busy clients, crawlers and
offices every service has); the rest ask for an address this stream has not given
before (a counter walked with a large odd stride, so they spread over the networks
table and never repeat). No cache can answer those, so a hit rate near HOT_SHARE means
the busy addresses are always hit. The addresses are only query values: nothing is sent
to them. Kept apart from the Locust user so tests can draw from it without Locust.
"""

import random
from ipaddress import IPv4Address
from itertools import count

HOT_SHARE = 0.2
HOT_ADDRESSES = [f"198.51.100.{host}" for host in range(1, 51)]
STRIDE = 2_654_435_761  # odd, so n * STRIDE mod 2**32 never repeats before 2**32 requests
SEED = 20261127


class AddressStream:
    """The stream; each instance starts over (same seed, same addresses)."""

    def __init__(self, seed: int = SEED) -> None:
        self._choices = random.Random(seed)
        self._one_off = count(1)

    def next_address(self) -> tuple[str, bool]:
        """The next address, and whether it is one of the busy ones."""
        if self._choices.random() < HOT_SHARE:
            return self._choices.choice(HOT_ADDRESSES), True
        return str(IPv4Address(next(self._one_off) * STRIDE % 2**32)), False
