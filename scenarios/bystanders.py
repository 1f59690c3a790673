"""Mixed workload: the variant's heavy requests, and bystanders calling a trivial endpoint.

Half the users request the variant back to back; the other half request the technique's
bystander endpoint, which does nothing, with a short pause between requests, as steady
unrelated traffic. Bystander requests are named "bystander", so their latency is a
distribution of its own: what the heavy requests do to everyone else.
"""

from urllib.parse import urlsplit

from locust import FastHttpUser, constant

BYSTANDER_NAME = "bystander"
BYSTANDER_PAUSE_S = 0.01


def make_users(name: str, path: str) -> list[type[FastHttpUser]]:
    """[the heavy user of `path`, the bystander user], in equal numbers."""
    bystander_path = urlsplit(path).path.rsplit("/", 1)[0] + "/bystander"

    def heavy(self: FastHttpUser) -> None:
        self.client.get(path, name=name)

    def bystand(self: FastHttpUser) -> None:
        self.client.get(bystander_path, name=BYSTANDER_NAME)

    heavy_user = type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [heavy]})
    bystander_user = type(
        f"{name}__{BYSTANDER_NAME}",
        (FastHttpUser,),
        {"wait_time": constant(BYSTANDER_PAUSE_S), "tasks": [bystand]},
    )
    return [heavy_user, bystander_user]
