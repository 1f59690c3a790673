"""Memo workload: users ask for the addresses of one stream (scenarios.address_stream).

One stream for the whole generator process, continued from segment to segment: the
run is a soak, and an address asked once is never asked again in it, in any segment.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit

from locust import FastHttpUser, constant

from scenarios.address_stream import AddressStream

STREAM = AddressStream()


def make_user(name: str, path: str) -> type[FastHttpUser]:
    """A closed-loop user asking `path` (its other params kept) for the stream's next address."""
    parts = urlsplit(path)
    params = dict(parse_qsl(parts.query))

    def ask(self: FastHttpUser) -> None:
        address, _ = STREAM.next_address()
        query = urlencode({**params, "ip": address})
        self.client.get(f"{parts.path}?{query}", name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [ask]})
