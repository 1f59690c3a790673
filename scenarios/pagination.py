"""Pagination's Locust user: every variant asks for the same page, keyset by its cursor.

`pairbench run` puts the cursor in the path already (Technique.params_path). Loaded by
hand (`locust -f scenarios/locustfile.py --class-picker`), the path holds only the
default page number, so the user asks the app once, at start, for the `after` a client
paging there would hold: otherwise keyset would serve page 1 while the others serve
a deep page. That one request goes around Locust, so it is not among the samples.
"""

import json
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from bench_app.techniques.pagination import TECHNIQUE

if TYPE_CHECKING:
    from locust import FastHttpUser


def with_cursor(host: str, path: str) -> str:
    """`path` with the `after` of the page it names, unless it has one."""
    target, _, query = path.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True))
    if "after" in params or TECHNIQUE.params_path is None:
        return path
    url = f"{host}{TECHNIQUE.params_path}?{urlencode(params)}"
    with urllib.request.urlopen(url, timeout=60) as response:
        params.update(json.load(response))
    return f"{target}?{urlencode(params)}"


def make_user(name: str, path: str) -> "type[FastHttpUser]":
    """A closed-loop user (no think time) requesting one page of `path`'s variant."""
    from locust import FastHttpUser, constant  # here: importing Locust monkey-patches gevent

    def on_start(self: Any) -> None:
        self.target = with_cursor(self.host, path)

    def request_page(self: Any) -> None:
        self.client.get(self.target, name=name)

    return type(
        name,
        (FastHttpUser,),
        {"wait_time": constant(0), "on_start": on_start, "tasks": [request_page]},
    )
