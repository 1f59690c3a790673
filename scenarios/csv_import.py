"""Upload workload: POSTs of the same generated CSV back to back, a few at a time.

The CSV is the technique's own request body for the point (the target's `rows`), built
once per user class, so the generator spends its time sending, not formatting. Uploads
take turns (scenarios.turns): imports are heavy and occasional.
"""

from locust import FastHttpUser, constant

from bench_app.payment_uploads import upload
from bench_app.target import Target
from scenarios.turns import in_turn, turns


def make_user(name: str, target: Target) -> type[FastHttpUser]:
    """A closed-loop user uploading the point's CSV to `target` when its turn comes."""
    url, body = target.url, upload(target.params)
    headers = {"Content-Type": body.content_type}
    turn = turns()

    def send(self: FastHttpUser) -> None:
        def upload_once() -> None:
            self.client.post(url, name=name, data=body.content, headers=headers)

        in_turn(self, turn, upload_once)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [send]})
