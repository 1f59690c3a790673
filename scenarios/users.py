"""Locust user classes: a technique's own workload if it declares one, else back-to-back GETs."""

import importlib

from locust import FastHttpUser, constant

from bench_app.techniques import all_techniques


def closed_loop_user(name: str, path: str) -> type[FastHttpUser]:
    """A closed-loop user that requests `path` back to back (no think time: max load)."""

    def request_target(self: FastHttpUser) -> None:
        self.client.get(path, name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [request_target]})


def user_for(technique: str, name: str, path: str) -> type[FastHttpUser]:
    """The technique's own user class if it declares a scenario module, else the closed loop."""
    scenario = all_techniques()[technique].scenario if technique else None
    if scenario is not None:
        user: type[FastHttpUser] = importlib.import_module(scenario).make_user(name, path)
        return user
    return closed_loop_user(name, path)
