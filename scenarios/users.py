"""Locust user classes: a technique's own workload if it declares one, else back-to-back GETs."""

import importlib
from collections.abc import Mapping
from typing import Any

from locust import FastHttpUser, constant

from bench_app.target import Target
from bench_app.techniques import all_techniques


def closed_loop_user(name: str, target: Target) -> type[FastHttpUser]:
    """A closed-loop user that requests `target` back to back (no think time: max load)."""
    url = target.url

    def request_target(self: FastHttpUser) -> None:
        self.client.get(url, name=name)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [request_target]})


def request_user(name: str, target: Target, request: Mapping[str, Any]) -> type[FastHttpUser]:
    """A closed-loop user that sends `request` (method, headers, body) to `target` back to
    back: a pair of the user's own endpoints (`pairbench ab`) that is more than a GET."""
    method, headers = str(request["method"]), dict(request.get("headers") or {})
    body = request.get("body")
    content = None if body is None else str(body)
    url = target.url

    def send_request(self: FastHttpUser) -> None:
        self.client.request(method, url, name=name, headers=headers, data=content)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [send_request]})


def users_for(
    technique: str, name: str, target: Target, request: Mapping[str, Any] | None = None
) -> list[type[FastHttpUser]]:
    """The technique's own user classes if it declares a scenario module, else the closed loop
    (sending `request`'s method, headers and body if given: a pair of `pairbench ab`).

    A scenario module has make_user(name, target), or, for a mixed workload, make_users(name,
    target, bystander) -> [the variant's user, then the users of the technique's bystander
    route (Technique.bystander), which name their requests "bystander"]. The variant's
    requests are named `name`.
    """
    registered = all_techniques().get(technique) if technique else None
    scenario = registered.scenario if registered is not None else None
    if registered is not None and scenario is not None:
        module = importlib.import_module(scenario)
        if hasattr(module, "make_users"):
            users: list[type[FastHttpUser]] = module.make_users(
                name, target, registered.bystander_target()
            )
            return users
        return [module.make_user(name, target)]
    if request is not None:
        return [request_user(name, target, request)]
    return [closed_loop_user(name, target)]
