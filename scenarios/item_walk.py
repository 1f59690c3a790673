"""Item-walk workload: each request asks for the next item, 1, 2, 3, ..., ITEMS, 1, ...

The target's own `item` parameter is replaced, so requests spread over many items the
way real traffic does; every variant's segment walks the same sequence, and so meets
the upstream's stalled items (a fixed share of them) equally often.
"""

import itertools
from urllib.parse import parse_qsl, urlencode, urlsplit

from locust import FastHttpUser, constant

ITEMS = 1000


def make_user(name: str, path: str) -> type[FastHttpUser]:
    """A closed-loop user requesting `path` with item = the next one in the walk."""
    parts = urlsplit(path)
    params = dict(parse_qsl(parts.query))
    walk = itertools.count()

    def request_next_item(self: FastHttpUser) -> None:
        query = urlencode({**params, "item": next(walk) % ITEMS + 1})
        self.client.get(f"{parts.path}?{query}", name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [request_next_item]})
