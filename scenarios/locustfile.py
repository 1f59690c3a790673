"""Locust workloads for the target app.

Driven by `pairbench run`: PAIRBENCH_TARGET names the one path (with query) to
load, and PAIRBENCH_SAMPLES the CSV file that receives every raw sample. Used by
hand (`pairbench serve`, then `locust -f scenarios/locustfile.py --class-picker`):
one user class per technique variant, at its default parameters.
"""

import os
from typing import Any

from locust import FastHttpUser, constant, events

from bench_app.techniques import all_techniques
from scenarios.samples import SampleRecorder

TARGET = os.environ.get("PAIRBENCH_TARGET")
SAMPLES_PATH = os.environ.get("PAIRBENCH_SAMPLES")


def _user_class(name: str, path: str) -> type[FastHttpUser]:
    """A closed-loop user that requests `path` back to back (no think time: max load)."""

    def request_target(self: FastHttpUser) -> None:
        self.client.get(path, name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [request_target]})


if TARGET:
    TargetUser = _user_class("TargetUser", TARGET)
else:
    for technique in all_techniques().values():
        for variant in technique.variants:
            class_name = f"{technique.key}__{variant}"
            globals()[class_name] = _user_class(class_name, technique.url(variant))

if SAMPLES_PATH:
    _recorder = SampleRecorder(SAMPLES_PATH)
    events.request.add_listener(_recorder.on_request)

    @events.quitting.add_listener
    def _close_samples(**_: Any) -> None:
        _recorder.close()
