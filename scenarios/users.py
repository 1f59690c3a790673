"""Locust user classes: a technique's own workload if it declares one, else back-to-back GETs."""

import importlib

from locust import FastHttpUser, constant

from bench_app.techniques import all_techniques


def closed_loop_user(name: str, path: str) -> type[FastHttpUser]:
    """A closed-loop user that requests `path` back to back (no think time: max load)."""

    def request_target(self: FastHttpUser) -> None:
        self.client.get(path, name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [request_target]})


def users_for(technique: str, name: str, path: str) -> list[type[FastHttpUser]]:
    """The technique's own user classes if it declares a scenario module, else the closed loop.

    A scenario module has make_user(name, path), or, for a mixed workload, make_users(name,
    path) -> [the variant's user, then the users of the other request kinds, which name
    their requests otherwise (e.g. "bystander")]. The variant's requests are named `name`.
    """
    scenario = all_techniques()[technique].scenario if technique else None
    if scenario is not None:
        module = importlib.import_module(scenario)
        if hasattr(module, "make_users"):
            users: list[type[FastHttpUser]] = module.make_users(name, path)
            return users
        return [module.make_user(name, path)]
    return [closed_loop_user(name, path)]
