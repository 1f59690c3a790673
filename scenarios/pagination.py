"""Pagination's Locust user: every variant asks for the same page, keyset by its cursor.

`pairbench run` puts the cursor in the target already (Technique.params_path). Loaded by
hand (`locust -f scenarios/locustfile.py --class-picker`), the target holds only the
default page number, so the user asks the app once, at start, for the `after` a client
paging there would hold: otherwise keyset would serve page 1 while the others serve
a deep page. That one request goes around Locust, so it is not among the samples.
"""

import json
import urllib.request
from typing import TYPE_CHECKING, Any

from bench_app.target import Target
from bench_app.techniques.pagination import TECHNIQUE

if TYPE_CHECKING:
    from locust import FastHttpUser


def with_cursor(host: str, target: Target) -> Target:
    """`target` with the `after` of the page it names, unless it has one."""
    if "after" in target.params or TECHNIQUE.params_path is None:
        return target
    url = f"{host}{Target(TECHNIQUE.params_path, target.params).url}"
    with urllib.request.urlopen(url, timeout=60) as response:
        return target.with_params(**json.load(response))


def make_user(name: str, target: Target) -> "type[FastHttpUser]":
    """A closed-loop user (no think time) requesting one page of `target`'s variant."""
    from locust import FastHttpUser, constant  # here: importing Locust monkey-patches gevent

    def on_start(self: Any) -> None:
        self.page_url = with_cursor(self.host, target).url

    def request_page(self: Any) -> None:
        self.client.get(self.page_url, name=name)

    return type(
        name,
        (FastHttpUser,),
        {"wait_time": constant(0), "on_start": on_start, "tasks": [request_page]},
    )
