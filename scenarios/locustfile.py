"""Locust workloads for the target app.

Driven by `pairbench run`: PAIRBENCH_TARGET names the one path (with query) to
load, PAIRBENCH_TECHNIQUE its technique, and PAIRBENCH_SAMPLES the CSV file that
receives every raw sample. Used by hand (`pairbench serve`, then `locust -f
scenarios/locustfile.py --class-picker`): one user class per technique variant, at
its default parameters.

By default a user requests its path back to back. A technique whose workload is
more than that (a browser keeping ETags, bursts after expiry) declares a `scenario` module
(in scenarios/) with `make_user(name, path) -> type[FastHttpUser]`.
"""

import importlib
import importlib.util
import os
from typing import Any

import gevent
from locust import FastHttpUser, constant, events

from bench_app.techniques import all_techniques
from scenarios.samples import SampleRecorder

TARGET = os.environ.get("PAIRBENCH_TARGET")
TECHNIQUE = os.environ.get("PAIRBENCH_TECHNIQUE", "")
SAMPLES_PATH = os.environ.get("PAIRBENCH_SAMPLES")


def closed_loop_user(name: str, path: str) -> type[FastHttpUser]:
    """A closed-loop user that requests `path` back to back (no think time: max load)."""

    def request_target(self: FastHttpUser) -> None:
        self.client.get(path, name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [request_target]})


def users_for(technique: str, name: str, path: str) -> list[type[FastHttpUser]]:
    """The technique's own user classes if it declares a scenario module, else the closed loop.

    A scenario module has make_user(name, path), or, for a mixed workload, make_users(name,
    path) -> [the variant's user, then the users of the other request kinds, which name
    their requests otherwise (e.g. "bystander")].
    """
    scenario = all_techniques()[technique].scenario if technique else None
    if scenario is not None:
        module = importlib.import_module(scenario)
        if hasattr(module, "make_users"):
            users: list[type[FastHttpUser]] = module.make_users(name, path)
            return users
        return [module.make_user(name, path)]
    return [closed_loop_user(name, path)]


def register(user_classes: list[type[FastHttpUser]]) -> None:
    """Make user classes module globals, where Locust finds them (each exactly once)."""
    for user_class in user_classes:
        globals()[user_class.__name__] = user_class


if TARGET:
    # The variant's own requests are named "target" (pairbench.results.TARGET_NAME).
    register(users_for(TECHNIQUE, "target", TARGET))
else:
    for technique in all_techniques().values():
        for variant in technique.variants:
            class_name = f"{technique.key}__{variant}"
            register(users_for(technique.key, class_name, technique.url(variant)))


if SAMPLES_PATH:
    _recorder = SampleRecorder(SAMPLES_PATH)
    events.request.add_listener(_recorder.on_request)

    @events.quitting.add_listener
    def _close_samples(**_: Any) -> None:
        _recorder.close()


# gevent's loop caches the time and has not run during the imports above, which take
# seconds on a busy machine; Locust measures --run-time from that stale clock, and
# would stop early (at once, if the imports outlast it) without this refresh.
gevent.get_hub().loop.update_now()
