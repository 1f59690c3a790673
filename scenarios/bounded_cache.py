"""Memo workload: users ask for the addresses of one shared stream (scenarios.address_stream)."""

from urllib.parse import parse_qsl, urlencode, urlsplit

from locust import FastHttpUser, constant

from scenarios.address_stream import AddressStream


def make_user(name: str, path: str) -> type[FastHttpUser]:
    """A closed-loop user asking `path` (its other params kept) for the stream's next address."""
    parts = urlsplit(path)
    params = dict(parse_qsl(parts.query))
    stream = AddressStream()  # one per user class: all its users draw from it in turn

    def ask(self: FastHttpUser) -> None:
        address, _ = stream.next_address()
        query = urlencode({**params, "ip": address})
        self.client.get(f"{parts.path}?{query}", name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [ask]})
