"""Mixed workload: the variant's heavy requests, and bystanders calling a trivial endpoint.

Half the users request the variant back to back; the other half request the technique's
bystander route (Technique.bystander), which does nothing, with a short pause between
requests, as steady unrelated traffic. Bystander requests are named "bystander", so their
latency is a distribution of its own: what the heavy requests do to everyone else.
"""

from locust import FastHttpUser, constant

from bench_app.target import Target

BYSTANDER_NAME = "bystander"
BYSTANDER_PAUSE_S = 0.01


def bystander_user(name: str, bystander: Target, pause_s: float) -> type[FastHttpUser]:
    """The users beside the variant's `name`: GETs of `bystander`, `pause_s` apart, named
    BYSTANDER_NAME."""
    url = bystander.url

    def bystand(self: FastHttpUser) -> None:
        self.client.get(url, name=BYSTANDER_NAME)

    return type(
        f"{name}__{BYSTANDER_NAME}",
        (FastHttpUser,),
        {"wait_time": constant(pause_s), "tasks": [bystand]},
    )


def make_users(name: str, target: Target, bystander: Target) -> list[type[FastHttpUser]]:
    """[the heavy user of `target`, the user of `bystander`], in equal numbers."""
    url = target.url

    def heavy(self: FastHttpUser) -> None:
        self.client.get(url, name=name)

    heavy_user = type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [heavy]})
    return [heavy_user, bystander_user(name, bystander, BYSTANDER_PAUSE_S)]
