"""Memo workload: users ask for the addresses of one stream (scenarios.address_stream).

One stream for the whole generator process, continued from segment to segment: the
run is a soak, and an address asked once is never asked again in it, in any segment.
"""

from locust import FastHttpUser, constant

from bench_app.target import Target
from scenarios.address_stream import AddressStream

STREAM = AddressStream()


def make_user(name: str, target: Target) -> type[FastHttpUser]:
    """A closed-loop user asking `target` (its other params kept) for the stream's next address."""

    def ask(self: FastHttpUser) -> None:
        address, _ = STREAM.next_address()
        self.client.get(target.with_params(ip=address).url, name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [ask]})
