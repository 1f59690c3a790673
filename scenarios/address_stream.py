"""bounded_cache's key stream: a long run of addresses each asked once, plus a few busy ones.

HOT_SHARE of the requests ask for one of HOT_ADDRESSES (the busy clients, crawlers and
offices every service has); the rest ask for an address this stream has not given
before (a counter walked with a large odd stride, so they spread over the networks
table and never repeat). No cache can answer those, so a hit rate near HOT_SHARE means
the busy addresses are always hit. The addresses are only query values: nothing is sent
to them. Kept apart from the Locust user so tests can draw from it without Locust.

The mix is dealt, not drawn: the stream opens with each busy address once (they are
about before the one-offs are) and then gives one every 1 / HOT_SHARE requests, in turn.
So the share of requests a memo must send to the database is the same in every segment
of every run, the first busy misses falling in the first warm-up, and the gate can hold
it as a cost.
"""

from ipaddress import IPv4Address
from itertools import count

HOT_SHARE = 0.2
HOT_ADDRESSES = [f"198.51.100.{host}" for host in range(1, 51)]
HOT_EVERY = round(1 / HOT_SHARE)  # a busy address every this many requests, after the opening
STRIDE = 2_654_435_761  # odd, so n * STRIDE mod 2**32 never repeats before 2**32 requests


class AddressStream:
    """The stream; each instance starts over (the same addresses in the same order)."""

    def __init__(self) -> None:
        self._asked = count()
        self._one_off = count(1)

    def next_address(self) -> tuple[str, bool]:
        """The next address, and whether it is one of the busy ones."""
        asked = next(self._asked)
        if asked < len(HOT_ADDRESSES):
            return HOT_ADDRESSES[asked], True
        after_opening = asked - len(HOT_ADDRESSES)
        if after_opening % HOT_EVERY == 0:
            return HOT_ADDRESSES[after_opening // HOT_EVERY % len(HOT_ADDRESSES)], True
        return str(IPv4Address(next(self._one_off) * STRIDE % 2**32)), False
