"""Upload workload: POSTs of the same generated CSV back to back, a few at a time.

The CSV is the technique's own request body for the point (`rows` from the path's
query), built once per user class, so the generator spends its time sending, not
formatting. Uploads take turns (scenarios.turns): imports are heavy and occasional.
"""

from urllib.parse import parse_qsl, urlsplit

from locust import FastHttpUser, constant

from bench_app.payment_uploads import upload
from scenarios.turns import in_turn, turns


def make_user(name: str, path: str) -> type[FastHttpUser]:
    """A closed-loop user uploading the point's CSV to `path` when its turn comes."""
    body = upload(dict(parse_qsl(urlsplit(path).query)))
    headers = {"Content-Type": body.content_type}
    turn = turns()

    def send(self: FastHttpUser) -> None:
        def upload_once() -> None:
            self.client.post(path, name=name, data=body.content, headers=headers)

        in_turn(self, turn, upload_once)

    return type(name, (FastHttpUser,), {"wait_time": constant(0), "tasks": [send]})
