"""Paced workload: each user sends one request every PACE_S seconds, whatever its latency.

A job queue is for work arriving at some rate, and its figures (how fast the request is
acknowledged, how long the job then takes) mean something only at a rate the worker can
keep up with. Back-to-back users would enqueue as fast as Redis accepts, far past any
worker, and measure the backlog instead. So every variant is offered the same load:
users / PACE_S requests per second (8 users: 32 per second), as long as a request takes
less than PACE_S.
"""

from locust import FastHttpUser, constant_pacing

from bench_app.target import Target

PACE_S = 0.25


def make_user(name: str, target: Target) -> type[FastHttpUser]:
    """A user requesting `target` once every PACE_S seconds."""
    url = target.url

    def request_target(self: FastHttpUser) -> None:
        self.client.get(url, name=name)

    return type(
        name, (FastHttpUser,), {"wait_time": constant_pacing(PACE_S), "tasks": [request_target]}
    )
